// Package s3 is the S3 REST surface (path-style) over the encrypted object
// store (package artifact): a thin layer that decodes S3's requests, has
// the shared pipeline authenticate, authorize (with S3's actions,
// resources and condition keys), admit and audit them, calls the store
// and encodes S3's XML answers. Errors are written by api.S3Protocol, the
// one S3 error writer.
//
// # Routing
//
// The surface shares the server's port with the others. A request goes to
// it when no other route takes it and its SigV4 credential scope (the
// Authorization header's, or a presigned URL's X-Amz-Credential) names the
// service s3 (api.Server.HandleSigned): the scope is signed, so the client
// chose it. The bucket is the first path segment and the key the rest.
// Bucket names equal to the first segment of another surface's route
// ("api", "endpoints", "tenant", ...) are reserved (CreateBucket answers
// InvalidBucketName), so a route never shadows a bucket.
//
// # Authorization
//
// Every operation is one S3 action on arn:aws:s3:::bucket or
// arn:aws:s3:::bucket/key, decided by the IAM engine over the caller's
// policies and the bucket's policy (a resource-based policy; across
// accounts both must allow). The resource's tenant is the bucket's
// creator's, or, in a platform bucket, the object's owner (the tenant of
// its KMS key): a tenant principal naming another tenant's bucket, object
// or upload is decided as for a missing one and answered as a missing one
// (NoSuchBucket, NoSuchKey, NoSuchUpload; DeleteObject's 204), the one
// exception being a write over another tenant's object, which a missing
// key would accept: it is AccessDenied. Listings show a tenant principal
// only its own tenant's objects, uploads and buckets.
//
// Writes need kms:GenerateDataKey and reads kms:Decrypt on the object's
// key (authz.KeyResource: its key policy and IAM). A tenant principal's
// x-amz-server-side-encryption-aws-kms-key-id is resolved within its own
// tenant only, so another tenant's key answers like a missing one.
//
// # Bodies
//
// Bodies stream: the SigV4 verifier hands over a reader that verifies the
// payload as it is read (hex SHA-256, UNSIGNED-PAYLOAD, aws-chunked
// signed chunks and trailers) and the store encrypts as it reads,
// committing nothing unless the whole body arrived and checked out.
// Downloads are audited before their first byte. XML request bodies are
// read up to MaxXMLBytes.
package s3
