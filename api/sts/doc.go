// Package sts is the AWS STS surface (query protocol, XML responses,
// namespace https://sts.amazonaws.com/doc/2011-06-15/): GetCallerIdentity,
// AssumeRole and AssumeRoleWithWebIdentity. It decodes, calls the session
// rules of package sts and the identity service, and encodes.
package sts
