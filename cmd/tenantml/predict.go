package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/codec"
	"github.com/tenantml/tenantml/runtime/xgboost"
)

// newPredictCmd is `tenantml predict`: local, offline prediction with a model
// file or model.tar.gz, through the same runtime and codecs the workers use.
func newPredictCmd() *cobra.Command {
	var modelPath, inputPath, format string
	cmd := &cobra.Command{
		Use:   "predict --model PATH --input X.csv [--format csv|json]",
		Short: "Predict locally with a model file or model.tar.gz",
		Long: `Predict loads a model (an XGBoost JSON, UBJSON or binary file, or a
model.tar.gz containing one) and prints one line per input row: the row's
outputs comma-separated with %.9g. Input is CSV without a header; an empty
field or "nan" is a missing value. --format json prints
{"predictions": [[...], ...]} instead. --input - reads standard input.`,
		Example: `  tenantml predict --model model.tar.gz --input rows.csv
  tenantml predict --model xgboost-model --input - --format json < rows.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPredict(cmd.OutOrStdout(), cmd.InOrStdin(), modelPath, inputPath, format)
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelPath, "model", "", "model file or model.tar.gz (required)")
	f.StringVar(&inputPath, "input", "", "CSV rows to predict, - for standard input (required)")
	f.StringVar(&format, "format", "csv", "output format: csv or json")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

func runPredict(stdout io.Writer, stdin io.Reader, modelPath, inputPath, format string) error {
	encode := codec.EncodeCSV
	switch format {
	case "csv":
	case "json":
		encode = codec.EncodeJSON
	default:
		return fmt.Errorf("unknown --format %q (want csv or json)", format)
	}
	mf, err := os.Open(modelPath)
	if err != nil {
		return fmt.Errorf("open model: %w", err)
	}
	defer mf.Close()
	reg := runtime.NewRegistry(xgboost.Format{})
	model, err := runtime.LoadArtifact(mf, reg, runtime.Limits{})
	if err != nil {
		return fmt.Errorf("load model %s: %w", modelPath, err)
	}
	info := model.Info()

	in := stdin
	if inputPath != "-" {
		f, err := os.Open(inputPath)
		if err != nil {
			return fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		in = f
	}
	batch, err := codec.DecodeCSV(bufio.NewReader(in), info.NumFeatures, codec.Limits{})
	if err != nil {
		return fmt.Errorf("input %s: %w", inputPath, err)
	}
	out := make([]float32, batch.Rows*info.NumOutputs)
	if err := model.Predict(batch.X, batch.Rows, out); err != nil {
		return fmt.Errorf("predict: %w", err)
	}
	w := bufio.NewWriter(stdout)
	if err := encode(w, out, batch.Rows, info.NumOutputs); err != nil {
		return fmt.Errorf("write predictions: %w", err)
	}
	return w.Flush()
}
