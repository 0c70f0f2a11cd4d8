// Package oip is the Open Inference Protocol's REST API (KServe's "V2"
// protocol) on the tenant gateway, over the same data plane, pipeline and
// policies as InvokeEndpoint:
//
//	GET  /v2                                                 server metadata
//	GET  /v2/health/live, /v2/health/ready                   probes (unauthenticated, no tenant data)
//	GET  /v2/models/{name}[/versions/{version}]              model metadata
//	GET  /v2/models/{name}[/versions/{version}]/ready        model readiness
//	POST /v2/models/{name}[/versions/{version}]/infer        inference
//	POST /v2/repository/index                                model repository extension
//	POST /v2/repository/models/{name}/load, .../unload
//
// # Names
//
// A model name is an endpoint's name, optionally followed by '.' and a
// TargetModel exactly as InvokeEndpoint's X-Amzn-SageMaker-Target-Model
// (ModelName): "acme" is the single-model endpoint acme,
// "pool-endpoint.globex.tar.gz" the model globex.tar.gz of the
// multi-model endpoint pool-endpoint. Endpoint names contain no '.', so
// the mapping is one-to-one. A version is a production variant of the
// endpoint (InvokeEndpoint's TargetVariant); without one, the endpoint's
// variants share the traffic by weight, as for InvokeEndpoint.
//
// # Authorization
//
// Every request but the probes runs through the pipeline: authenticated
// (SigV4, service "sagemaker"), authorized by the IAM engine, audited.
// Model routes resolve their target with runtime.Resolver, the resolution
// InvokeEndpoint uses: the TargetModel normalised before any policy or
// storage access, the endpoint's ARN with its tags, the condition key
// sagemaker:TargetModel, and on a shared multi-model endpoint a tenant
// principal's request for another tenant's model answered exactly as one
// for a missing model. Inference is sagemaker:InvokeEndpoint (the
// isolation models' invoke policies work verbatim); metadata and readiness
// are sagemaker:DescribeEndpoint on the same resource with the same
// condition keys; the repository extension is tenantml:IndexModelRepository
// (on endpoint/*), tenantml:LoadModel and tenantml:UnloadModel (on the
// model's endpoint), which the built-in tenant policies do not grant: it is
// the operators'. A tenant principal that a policy allows them still
// reaches, loads and lists only its tenant's models.
//
// # Tensors
//
// A model takes one input tensor, [rows, features] or [features] for one
// row, of any numeric datatype (BOOL, INT*, UINT*, FP32, FP64; not BYTES,
// not FP16), its data nested as the shape or flat; values become the
// runtime's float32 and travel to the worker as text/csv rows, null being
// a missing value in a floating-point tensor. The model's text/csv answer
// becomes one FP32 output, "output-0", of shape [rows, values per row];
// a value that is not finite is null. The request parameter
// "custom_attributes" (a string) is X-Amzn-SageMaker-Custom-Attributes,
// and the model's answer to it returns as the response parameter of the
// same name; other parameters are accepted and ignored. Binary tensor data
// is refused.
//
// # Errors
//
// Errors are the protocol's {"error": message} with the status of the
// SageMaker Runtime error they stand for: 400 invalid request, 403 denied,
// 404 missing model (or another tenant's), 413 too large, 424 the model's
// own error, 429 not ready or throttled (with Retry-After), 503 no worker.
package oip
