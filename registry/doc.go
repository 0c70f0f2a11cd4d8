// Package registry is the model registry: model package groups and the
// versioned model packages registered in them, with their inference
// specification, metrics, metadata and approval status, in SageMaker's
// terms (CreateModelPackageGroup, CreateModelPackage, UpdateModelPackage,
// ...). It holds the types, their validation, the Store interface the
// adapters implement (registry/sqlstore for SQLite and PostgreSQL) and the
// Service the API calls. It imports no storage or network code.
//
// # Tenancy
//
// Every group belongs to one account and to one tenant ("" for a platform
// group); a package belongs to its group's tenant. Every Service method
// takes the caller's tenant ("" for a platform principal): a tenant's
// caller creates groups only in its own name space (serving's rule:
// "<tenant>" or "<tenant>--<name>"), tagged with its TenantID, and another
// tenant's group or package, or the platform's, answers exactly as a
// missing one (the same error, code and message, naming what the request
// named). The API's pipeline enforces the same boundary before a handler
// runs; the Service's check is the second wall.
//
// # Versions
//
// A package is addressed by its group and version: versions are 1, 2, ...
// in the order of registration, assigned by the store, and never reused
// (a deleted version's number stays taken). ARNs are
// arn:aws:sagemaker:<region>:<account>:model-package-group/<group> and
// arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>,
// the group's name lower-cased as SageMaker's ARNs are.
//
// # Digest pinning
//
// Each container's ModelDataURL is pinned at registration: the package
// records the object's SHA-256 and size (Container.ModelDataSHA256,
// ModelDataSize), which the caller resolves (reading the object as the
// caller may) before Create; Validate refuses a container whose model data
// is not pinned. A model created from the package carries the pin, and
// the serving path refuses to load an object whose digest differs.
//
// # Approval
//
// ModelApprovalStatus is PendingManualApproval (the default), Approved or
// Rejected. Every change of a package (UpdatePackage) records who made it
// (LastModifiedBy) and when; a change of the approval status also records
// who changed it (ApprovalModifiedBy), kept until the status changes
// again.
package registry
