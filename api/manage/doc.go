// Package manage is the management API surface under /api/v1/: JSON over
// HTTP, every operation run through the api.Pipeline as an IAM action on a
// tenantml ARN (arn:aws:tenantml:<region>:<account>:tenant/<id>). It decodes,
// calls a domain service and encodes; it holds no logic of its own.
package manage
