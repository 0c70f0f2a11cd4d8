// Package contract is the managed cloud's inference container contract, the
// protocol between the gateway and a worker: its wire types, its error body
// and a Client. Any model server that speaks it can stand in for tenantml's
// own worker.
//
// # Routes
//
//	GET    /ping                    200 when ready (single-model: model loaded)
//	POST   /invocations             single-model inference
//	POST   /models                  multi-model: load {"model_name", "url"}
//	                                200 loaded, 409 already loaded,
//	                                507 insufficient memory
//	GET    /models                  {"models": [{"modelName", "modelUrl"}],
//	                                "nextPageToken"}; ?next_page_token= pages
//	GET    /models/{name}           {"modelName", "modelUrl"}; 404 not loaded
//	DELETE /models/{name}           200 unloaded; 404 not loaded
//	POST   /models/{name}/invoke    multi-model inference; 404 not loaded
//
// model_name is opaque: the gateway passes the caller's TargetModel in the
// X-Amzn-SageMaker-Target-Model header, for logs only. url is a directory
// (or file) on the worker's file system holding the model's files.
// tenantml's worker adds "memoryBytes" (the loaded model's resident size)
// to the model descriptions; servers that do not are sized by the artifact.
//
// # Errors
//
// A worker answers errors with a 4xx or 5xx status and, as the managed
// cloud's model servers do, a JSON body {"code", "type", "message"}. The
// Client returns every such answer as a *serving.ModelError carrying the
// status and the message (the body's message, or the raw body truncated to
// MaxErrorMessage bytes when it is not that JSON), and transport failures
// (no answer) wrapped in serving.ErrUnavailable.
//
// # Transports
//
// A worker listens on a Unix socket (created 0600 inside its private
// directory) or on loopback TCP. NewClient takes "unix:/path/to/sock" or
// "host:port".
package contract
