package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// printOutput writes v in the format chosen by -o: an indented JSON
// document, the same document as YAML, or a table drawn by table.
func printOutput(cmd *cobra.Command, v any, table func(w io.Writer) error) error {
	format, _ := cmd.Flags().GetString("output")
	w := cmd.OutOrStdout()
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		// Through JSON so that YAML keys are the API's field names.
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		enc := yaml.NewEncoder(w)
		defer enc.Close()
		return enc.Encode(doc)
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if err := table(tw); err != nil {
			return err
		}
		return tw.Flush()
	}
	return fmt.Errorf("output format %q must be table, json or yaml", format)
}
