// Package kms serves the AWS KMS JSON 1.1 API (POST / with
// X-Amz-Target: TrentService.<Operation> and Content-Type
// application/x-amz-json-1.1) over a keys.Service.
//
// Contract:
//   - the tenant of every request is the caller's principal tag TenantID
//     (authn.Principal.Tags["TenantID"]); a caller without it, the account
//     root included, gets AccessDeniedException: KMS keys belong to tenants;
//   - every operation runs through the shared api.Pipeline as
//     "kms:<Operation>" on the ARN of the key it touches (a key ID, key ARN
//     or alias is resolved within the caller's tenant; Decrypt without
//     KeyId uses the key named in the ciphertext; alias operations use the
//     target key); CreateKey, ListKeys and ListAliases without KeyId act
//     on "*";
//   - with Surface.Authorizer set, the key's policy takes part as the
//     resource-based policy, which must allow as on AWS (the default key
//     policy delegates to IAM); for a key the caller's tenant does not have
//     the default policy stands in, so the answer is NotFoundException for
//     a permitted caller and AccessDeniedException otherwise;
//   - another tenant's key is indistinguishable from a missing one
//     (NotFoundException);
//   - blobs (Plaintext, CiphertextBlob) are base64 in JSON and timestamps
//     are epoch seconds, as AWS sends them;
//   - errors are JSON 1.1 errors ({"__type": ..., "message": ...}) with the
//     keys.ExceptionOf code; a malformed body is a 400
//     SerializationException, an unknown target a 400
//     UnknownOperationException.
package kms
