package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// csvOutput is the annotation of commands that also print CSV (-o csv).
const csvOutput = "tenantml/csv-output"

// outputHelp is the help of -o wherever it is registered.
const outputHelp = "output format: table, json or yaml"

// addOutputFlag registers -o/--output on cmd, defaulting to def. Commands
// calling the API get it from addClientFlags.
func addOutputFlag(cmd *cobra.Command, def string) {
	cmd.Flags().StringP("output", "o", def, outputHelp)
}

// outputFormat returns the -o of cmd, or a usage error (exit code 2) when
// it is not table, json or yaml.
func outputFormat(cmd *cobra.Command) (string, error) {
	format, _ := cmd.Flags().GetString("output")
	switch format {
	case "table", "json", "yaml":
		return format, nil
	case "":
		return "table", nil
	case "csv":
		if cmd.Annotations[csvOutput] == "true" {
			return format, nil
		}
	}
	if cmd.Annotations[csvOutput] == "true" {
		return "", &exitError{code: 2, err: fmt.Errorf("output format %q must be table, json, yaml or csv", format)}
	}
	return "", &exitError{code: 2, err: fmt.Errorf("output format %q must be table, json or yaml", format)}
}

// printOutput writes v in the format chosen by -o: an indented JSON
// document, the same document as YAML, or a table drawn by table.
func printOutput(cmd *cobra.Command, v any, table func(w io.Writer) error) error {
	format, err := outputFormat(cmd)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		return writeYAML(w, b)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if err := table(tw); err != nil {
		return err
	}
	return tw.Flush()
}

// writeYAML writes the JSON document doc as YAML, so that YAML keys are the
// JSON field names.
func writeYAML(w io.Writer, doc []byte) error {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	enc := yaml.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return enc.Close()
}
