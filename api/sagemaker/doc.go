// Package sagemaker is the SageMaker control plane's JSON 1.1 surface
// (X-Amz-Target: SageMaker.<Operation>, SigV4 service "sagemaker") over
// serving.Controller and registry.Service: models, endpoint configs,
// endpoints, model package groups and model packages, and their tags, in
// SageMaker's request and response shapes, so that `aws sagemaker ...`
// and boto3 work unchanged.
//
// Every operation is authorized by the IAM engine as sagemaker:<Operation>
// on arn:aws:sagemaker:<region>:<account>:model|endpoint-config|endpoint/
// <name>, with the resource's tags (aws:ResourceTag/*) and the request's
// (aws:RequestTag/*, aws:TagKeys); CreateModel also needs iam:PassRole on
// its execution role. A resource of another tenant than the caller's is
// decided and answered exactly as one that does not exist
// (ValidationException "Could not find ...", as SageMaker answers a
// missing resource).
package sagemaker
