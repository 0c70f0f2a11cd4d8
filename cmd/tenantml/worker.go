package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/contract"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/worker"
)

// newWorkerCmd is `tenantml worker`: one model-serving process speaking the
// inference container contract, as the supervisor (or Kubernetes) starts it.
func newWorkerCmd() *cobra.Command {
	var (
		listen, modelDir, modelsRoot string
		multi                        bool
		maxModelBytes, maxBodyBytes  int64
	)
	cmd := &cobra.Command{
		Use:   "worker [--listen unix:/path/sock | --listen 127.0.0.1:8080] [--model-dir DIR | --multi-model --models-root DIR]",
		Short: "Serve models over the inference container contract (started by the supervisor)",
		Long: `worker serves one model (the model directory, like /opt/ml/model) or, with
--multi-model, the models it is told to load (POST /models), over the
managed cloud's inference container contract: GET /ping, POST /invocations,
POST/GET/DELETE /models, POST /models/{name}/invoke. It listens on a Unix
socket (created 0600) or a loopback TCP port. Defaults come from the
environment the supervisor sets: ` + contract.EnvSocket + `, ` + contract.EnvPort + `,
` + contract.EnvModelDir + `, ` + contract.EnvMultiModel + `, ` + contract.EnvModelsRoot + `, ` + contract.EnvMaxModelBytes + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := worker.Config{
				Mode:          serving.ModeSingle,
				Listen:        listen,
				ModelDir:      modelDir,
				ModelsRoot:    modelsRoot,
				MaxModelBytes: maxModelBytes,
				MaxBodyBytes:  maxBodyBytes,
				Logger:        slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil)),
			}
			if multi {
				cfg.Mode = serving.ModeMulti
			}
			return runWorker(cmd.Context(), cfg)
		},
	}
	env := os.Getenv
	defListen := "127.0.0.1:8080"
	if s := env(contract.EnvSocket); s != "" {
		defListen = "unix:" + s
	} else if p := env(contract.EnvPort); p != "" {
		defListen = "127.0.0.1:" + p
	}
	defModelDir := env(contract.EnvModelDir)
	if defModelDir == "" {
		defModelDir = "/opt/ml/model"
	}
	defMax, _ := strconv.ParseInt(env(contract.EnvMaxModelBytes), 10, 64)
	f := cmd.Flags()
	f.StringVar(&listen, "listen", defListen, "unix:/path/to/socket or a loopback host:port")
	f.StringVar(&modelDir, "model-dir", defModelDir, "single-model: the model directory or file")
	f.BoolVar(&multi, "multi-model", env(contract.EnvMultiModel) == "true", "serve the models loaded through POST /models")
	f.StringVar(&modelsRoot, "models-root", env(contract.EnvModelsRoot), "multi-model: the directory POST /models may load from")
	f.Int64Var(&maxModelBytes, "max-model-bytes", defMax, "multi-model: cap on the loaded models' memory (0: none)")
	f.Int64Var(&maxBodyBytes, "max-body-bytes", 6<<20, "cap on a request body")
	return cmd
}

func runWorker(ctx context.Context, cfg worker.Config) error {
	syscall.Umask(0o077)
	srv := worker.New(cfg)
	if err := srv.Open(ctx); err != nil {
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-srv.Done():
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(serveErr, srv.Close(closeCtx))
}

// newSandboxCmd is the hidden `tenantml sandbox`: the supervisor starts every
// worker through it, already as the worker's user and in its namespaces; it
// applies the limits a process can only set on itself (rlimits, nice,
// no_new_privs) and then executes the worker's command.
func newSandboxCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "sandbox [limits] -- COMMAND [ARG...]",
		Short:              "Apply a worker's limits and execute it (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := local.Sandbox(args); err != nil {
				return &exitError{code: 126, err: fmt.Errorf("sandbox: %w", err)}
			}
			return nil
		},
	}
}
