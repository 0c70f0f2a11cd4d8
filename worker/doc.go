// Package worker is tenantml's model server: the process `tenantml worker`
// runs, speaking the managed cloud's inference container contract (see
// serving/contract) over a Unix socket or loopback TCP, and predicting with
// the native runtime (runtime/xgboost) through runtime/codec.
//
// # Contract
//
//   - Single-model (Config.Mode serving.ModeSingle): Open loads the model
//     from Config.ModelDir (a model.tar.gz as the managed cloud packs it, a
//     bare model file, or a directory holding either or the files of an
//     unpacked archive) before it listens, so GET /ping answers 200 only
//     once the model is loaded; a model that does not load makes Open fail
//     and the process exit non-zero. POST /invocations predicts.
//   - Multi-model (serving.ModeMulti): POST /models {"model_name", "url"}
//     loads the model at url, which must lie inside Config.ModelsRoot; 409
//     when the name is loaded or loading, 507 when the loaded models would
//     hold more than Config.MaxModelBytes (runtime.Info.MemoryBytes).
//     GET /models pages (Config.PageSize per page, next_page_token),
//     GET /models/{name} adds "memoryBytes", DELETE /models/{name} unloads,
//     POST /models/{name}/invoke predicts; 404 for a name not loaded. An
//     unload never disturbs an invocation in flight: the invocation keeps
//     the model it started with.
//   - Requests: Content-Type text/csv (default) or application/json as
//     runtime/codec decodes them; Accept text/csv (default, also for */*)
//     or application/json ({"predictions": [{"score": ...}]}, as the managed
//     cloud's XGBoost container answers). Bodies above Config.MaxBodyBytes
//     answer 413, unsupported types 415, unacceptable Accept 406, malformed
//     rows 400 naming the row and column.
//   - Errors are JSON {"code", "type", "message"} with the status. Messages
//     describe the request, never the host: no paths beyond the model name.
//
// The worker runs no command, loads nothing but model files through
// runtime's format registry, and reads models only from the paths the
// supervisor gives it. Its limits (memory, CPU, user, network namespace)
// are applied from outside by the supervisor (serving/local).
package worker
