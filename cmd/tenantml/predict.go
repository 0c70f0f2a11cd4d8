package main

import (
	"bufio"
	"bytes"
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
		Use:   "predict --model PATH --input X.csv [-o table|json|yaml]",
		Short: "Predict locally with a model file or model.tar.gz",
		Long: `Predict loads a model (an XGBoost JSON, UBJSON or binary file, or a
model.tar.gz as SageMaker packs it, with xgboost-model, *.json or *.ubj inside)
and predicts every input row. Input is CSV without a header, one row per line,
one column per feature; an empty field or "nan" is a missing value. --input -
reads standard input.

-o table (the default) prints CSV: one line per input row, the row's outputs
comma-separated with %.9g. -o json prints {"predictions": [[...], ...]}, the
worker's JSON response; -o yaml the same document as YAML.

examples/models holds a small model.tar.gz and rows.csv to try this with, and
the script that trained the model (examples/models/train.py).`,
		Example: `  tenantml predict --model examples/models/model.tar.gz --input examples/models/rows.csv
  tenantml predict --model xgboost-model --input - -o json < rows.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("format") {
				switch format {
				case "csv":
					out = "table"
				case "json":
					out = "json"
				default:
					return &exitError{code: 2, err: fmt.Errorf("unknown --format %q (want csv or json; better: -o table, json or yaml)", format)}
				}
			}
			return runPredict(cmd.OutOrStdout(), cmd.InOrStdin(), modelPath, inputPath, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelPath, "model", "", "model file or model.tar.gz (required)")
	f.StringVar(&inputPath, "input", "", "CSV rows to predict, - for standard input (required)")
	addOutputFlag(cmd, "table")
	f.StringVar(&format, "format", "csv", "csv or json")
	_ = f.MarkDeprecated("format", "use -o table (CSV) or -o json")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

// runPredict predicts the rows of inputPath (stdin for "-") with the model
// at modelPath and writes them in format: table (CSV), json or yaml.
func runPredict(stdout io.Writer, stdin io.Reader, modelPath, inputPath, format string) error {
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
	switch format {
	case "json", "yaml":
		var doc bytes.Buffer
		if err := codec.EncodeJSON(&doc, out, batch.Rows, info.NumOutputs); err != nil {
			return fmt.Errorf("write predictions: %w", err)
		}
		if format == "yaml" {
			return writeYAML(stdout, doc.Bytes())
		}
		_, err := stdout.Write(doc.Bytes())
		return err
	}
	w := bufio.NewWriter(stdout)
	if err := codec.EncodeCSV(w, out, batch.Rows, info.NumOutputs); err != nil {
		return fmt.Errorf("write predictions: %w", err)
	}
	return w.Flush()
}
