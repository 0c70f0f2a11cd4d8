// Package iam serves the IAM query API (form-encoded Action=...&Version=
// 2010-05-08, XML responses in the https://iam.amazonaws.com/doc/2010-05-08/
// namespace, AWS-shaped XML errors) over an identity.Service.
//
// Contract:
//   - every action runs through the shared api.Pipeline as "iam:<Action>"
//     on the ARN of the entity it touches; the resource ARN is built from
//     the request (name, and for creations the path), so for an existing
//     entity the path is not part of the audited resource
//     (arn:aws:iam::<acct>:user/<name>); with Surface.Authorizer set, the
//     decision uses the entity's stored ARN and tags (aws:ResourceTag/*)
//     and the request's aws:RequestTag/*, aws:TagKeys,
//     iam:PermissionsBoundary and iam:PolicyARN, so ABAC policies such as
//     the built-in TenantAdmin and TenantRoleBoundary apply;
//   - policy documents arrive URL-encoded JSON and are validated by the
//     identity service with the IAM engine's parser;
//   - CreateAccessKey generates an AKIA key ID and a 40-character secret
//     from Rand, seals the secret with the platform master key (KEK) bound
//     to SecretAAD(keyID), stores only the sealed form and returns the
//     secret once; secrets are never logged;
//   - identity.Error codes (NoSuchEntity, EntityAlreadyExists,
//     LimitExceeded, DeleteConflict, MalformedPolicyDocument,
//     ValidationError, InvalidInput) come out as the AWS error code;
//   - OpenID Connect providers carry tenantml's claim-to-tag mapping as tags
//     keyed ClaimTagPrefix+<claim>, since AWS's API has no field for it;
//   - SimulateCustomPolicy and SimulatePrincipalPolicy decide each action
//     and resource with the IAM engine and report AWS's EvaluationResults.
package iam
