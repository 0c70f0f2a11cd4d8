package contract

// Header names of the contract.
const (
	// HeaderTargetModel carries the caller's TargetModel to a multi-model
	// worker, for its logs.
	HeaderTargetModel = "X-Amzn-SageMaker-Target-Model"
	// HeaderCustomAttributes is passed through to and from the worker.
	HeaderCustomAttributes = "X-Amzn-SageMaker-Custom-Attributes"
)

// Environment variables a worker reads at start.
const (
	// EnvSocket is the Unix socket path the worker listens on.
	EnvSocket = "TENANTML_WORKER_SOCKET"
	// EnvPort is the loopback TCP port to listen on when EnvSocket is
	// unset (the managed cloud's variable; its default is 8080).
	EnvPort = "SAGEMAKER_BIND_TO_PORT"
	// EnvModelDir is the single-model worker's model directory (the
	// managed cloud's /opt/ml/model).
	EnvModelDir = "SM_MODEL_DIR"
	// EnvMultiModel is "true" for a multi-model worker (the managed
	// cloud's variable).
	EnvMultiModel = "SAGEMAKER_MULTI_MODEL"
	// EnvModelsRoot is the directory a multi-model worker loads models
	// from; a POST /models url outside it is refused.
	EnvModelsRoot = "TENANTML_MODELS_ROOT"
	// EnvMaxModelBytes caps the memory a multi-model worker lets its
	// loaded models hold; a load beyond it answers 507.
	EnvMaxModelBytes = "TENANTML_MAX_MODEL_BYTES"
)

// LoadModelRequest is the body of POST /models.
type LoadModelRequest struct {
	ModelName string `json:"model_name"`
	URL       string `json:"url"`
}

// ModelDescription describes a loaded model (GET /models/{name}, and the
// entries of GET /models).
type ModelDescription struct {
	ModelName string `json:"modelName"`
	ModelURL  string `json:"modelUrl"`
	// MemoryBytes is tenantml's extension: the loaded model's resident
	// bytes; 0 when the server does not report it.
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
}

// ListModelsResponse is the body of GET /models.
type ListModelsResponse struct {
	Models        []ModelDescription `json:"models"`
	NextPageToken string             `json:"nextPageToken,omitempty"`
}

// ErrorBody is the JSON body of an error answer.
type ErrorBody struct {
	Code    int    `json:"code"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// MaxErrorMessage caps the bytes of a worker's error message the Client
// keeps.
const MaxErrorMessage = 1024
