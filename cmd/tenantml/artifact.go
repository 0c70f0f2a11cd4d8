package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api/manage"
)

func newArtifactCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "artifact",
		Short: "Upload, download, list, delete and presign a tenant's model artifacts",
		Long: `Store a tenant's model artifacts (encrypted under the tenant's key) through the
management API. An artifact is named MODEL/VERSION/FILE, e.g. churn/v1/model.tar.gz.
Uploads and downloads stream: a file is never held in memory. An upload of a
local file first hashes it and sends the SHA-256 (X-Tenantml-Sha256), which the
server checks before it commits the artifact; a download checks the SHA-256 and
size the server reports.`,
	}
	addClientFlags(cmd)
	cmd.AddCommand(newArtifactPutCmd(), newArtifactGetCmd(), newArtifactListCmd(), newArtifactRmCmd(), newArtifactPresignCmd())
	return cmd
}

// artifactPath is the API path of tenant's artifact name (MODEL/VERSION/FILE).
func artifactPath(tenantID, name string) (string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", fmt.Errorf("artifact %q: want MODEL/VERSION/FILE, e.g. churn/v1/model.tar.gz", name)
	}
	p := "/api/v1/tenants/" + url.PathEscape(tenantID) + "/artifacts"
	for _, s := range parts {
		p += "/" + url.PathEscape(s)
	}
	return p, nil
}

// artifactTarget is the API client of cmd and the path of tenant's
// artifact name.
func artifactTarget(cmd *cobra.Command, tenantID, name string) (*apiClient, string, error) {
	path, err := artifactPath(tenantID, name)
	if err != nil {
		return nil, "", err
	}
	c, err := newAPIClient(cmd)
	return c, path, err
}

func printArtifacts(cmd *cobra.Command, v any, infos ...*manage.ArtifactInfo) error {
	return printOutput(cmd, v, func(w io.Writer) error {
		fmt.Fprintln(w, "ARTIFACT\tSIZE\tSHA256\tCREATED")
		for _, a := range infos {
			fmt.Fprintf(w, "%s/%s/%s\t%d\t%s\t%s\n", a.Model, a.Version, a.File, a.Size, a.SHA256, a.Created.UTC().Format(time.RFC3339))
		}
		return nil
	})
}

func newArtifactPutCmd() *cobra.Command {
	var tenantID string
	cmd := &cobra.Command{
		Use:     "put --tenant TENANT_ID MODEL/VERSION/FILE LOCALFILE|-",
		Short:   "Upload an artifact from a file, or from standard input with -",
		Example: "  tenantml artifact put --tenant acme churn/v1/model.tar.gz ./model.tar.gz\n  tar cz model/ | tenantml artifact put --tenant acme churn/v2/model.tar.gz -",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, path, err := artifactTarget(cmd, tenantID, args[0])
			if err != nil {
				return err
			}
			var (
				body io.Reader = cmd.InOrStdin()
				size int64     = -1
				hdr            = http.Header{}
			)
			if args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return fmt.Errorf("open %s: %w", args[1], err)
				}
				defer f.Close()
				// A first pass hashes the file, so the server can check
				// what it received before committing it.
				h := sha256.New()
				if size, err = io.Copy(h, f); err != nil {
					return fmt.Errorf("hash %s: %w", args[1], err)
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return fmt.Errorf("rewind %s: %w", args[1], err)
				}
				hdr.Set(manage.SHA256Header, hex.EncodeToString(h.Sum(nil)))
				hdr.Set("Content-Type", "application/octet-stream")
				body = f
			}
			resp, err := c.stream(cmd.Context(), http.MethodPut, path, body, size, hdr)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var info manage.ArtifactInfo
			if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
				return fmt.Errorf("decode response: %w", err)
			}
			return printArtifacts(cmd, info, &info)
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

func newArtifactGetCmd() *cobra.Command {
	var tenantID string
	cmd := &cobra.Command{
		Use:   "get --tenant TENANT_ID MODEL/VERSION/FILE [LOCALFILE|-]",
		Short: "Download an artifact to a file, or to standard output (the default, or -)",
		Long: `Download an artifact to LOCALFILE, or to standard output when LOCALFILE is
omitted or -. A file is written beside its final name and renamed when the
download is complete and matches the SHA-256 and size the server reported, so
a failed download never leaves a partial file in place; then the download is
summarised (-o table, json or yaml).`,
		Example: "  tenantml artifact get --tenant acme churn/v1/model.tar.gz model.tar.gz\n  tenantml artifact get --tenant acme churn/v1/model.tar.gz | tar xz",
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest := "-"
			if len(args) == 2 {
				dest = args[1]
			}
			c, path, err := artifactTarget(cmd, tenantID, args[0])
			if err != nil {
				return err
			}
			resp, err := c.stream(cmd.Context(), http.MethodGet, path, nil, 0, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if dest == "-" {
				_, err := copyChecked(cmd.OutOrStdout(), resp)
				return err
			}
			// Write next to the destination and rename when complete, so
			// that a failed download never leaves a partial file in place.
			tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.part")
			if err != nil {
				return fmt.Errorf("create %s: %w", dest, err)
			}
			defer os.Remove(tmp.Name()) // a no-op after the rename
			n, err := copyChecked(tmp, resp)
			if cerr := tmp.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("write %s: %w", dest, cerr)
			}
			if err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), dest); err != nil {
				return fmt.Errorf("write %s: %w", dest, err)
			}
			got := downloaded{File: dest, Bytes: n, SHA256: resp.Header.Get(manage.SHA256Header)}
			return printOutput(cmd, got, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "wrote %d bytes to %s (sha256 %s)\n", got.Bytes, got.File, got.SHA256)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

// downloaded is the summary artifact get prints after writing a file.
type downloaded struct {
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// copyChecked copies a download to w and fails unless it received exactly
// Content-Length bytes hashing to the X-Tenantml-Sha256 the server sent (a
// stream the server aborted, e.g. on an integrity failure, is short).
func copyChecked(w io.Writer, resp *http.Response) (int64, error) {
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return n, fmt.Errorf("download interrupted after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("download incomplete: %d of %d bytes", n, resp.ContentLength)
	}
	if want := resp.Header.Get(manage.SHA256Header); want != "" && hex.EncodeToString(h.Sum(nil)) != want {
		return n, fmt.Errorf("download does not match its SHA-256 %s", want)
	}
	return n, nil
}

func newArtifactListCmd() *cobra.Command {
	var tenantID, prefix string
	cmd := &cobra.Command{
		Use:     "ls --tenant TENANT_ID [--prefix MODEL/VERSION/]",
		Aliases: []string{"list"},
		Short:   "List a tenant's artifacts",
		Example: "  tenantml artifact ls --tenant acme\n  tenantml artifact ls --tenant acme --prefix churn/ -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			path := "/api/v1/tenants/" + url.PathEscape(tenantID) + "/artifacts"
			if prefix != "" {
				path += "?" + url.Values{"prefix": {prefix}}.Encode()
			}
			var out manage.ListArtifactsOutput
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, &out); err != nil {
				return err
			}
			return printArtifacts(cmd, out, out.Artifacts...)
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	cmd.Flags().StringVar(&prefix, "prefix", "", "only artifacts whose MODEL/VERSION/FILE starts with this")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

func newArtifactRmCmd() *cobra.Command {
	var tenantID string
	cmd := &cobra.Command{
		Use:     "rm --tenant TENANT_ID MODEL/VERSION/FILE",
		Aliases: []string{"delete"},
		Short:   "Delete an artifact",
		Example: "  tenantml artifact rm --tenant acme churn/v1/model.tar.gz",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, path, err := artifactTarget(cmd, tenantID, args[0])
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s/%s\n", tenantID, args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

func newArtifactPresignCmd() *cobra.Command {
	var tenantID, method string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "presign --tenant TENANT_ID MODEL/VERSION/FILE [--method GET|PUT] [--expires 15m]",
		Short: "Make a URL that downloads (GET) or uploads (PUT) one artifact without credentials until it expires",
		Long: `Make a presigned URL for one artifact. Anyone holding it may perform the one
method on the one artifact until it expires (at most 7 days), without
credentials; the server issues it only if you may perform that method yourself.`,
		Example: "  curl -o model.tar.gz \"$(tenantml artifact presign --tenant acme churn/v1/model.tar.gz)\"\n  curl -T model.tar.gz \"$(tenantml artifact presign --tenant acme --method PUT churn/v2/model.tar.gz)\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if expires < time.Second {
				return fmt.Errorf("--expires %s: must be at least 1s", expires)
			}
			c, path, err := artifactTarget(cmd, tenantID, args[0])
			if err != nil {
				return err
			}
			in := manage.PresignArtifactInput{Method: strings.ToUpper(method), ExpiresIn: int64(expires / time.Second)}
			var out manage.PresignArtifactOutput
			if err := c.do(cmd.Context(), http.MethodPost, path+"/presign", in, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, out.URL)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	cmd.Flags().StringVar(&method, "method", "GET", "GET (download) or PUT (upload)")
	cmd.Flags().DurationVar(&expires, "expires", manage.DefaultPresignExpiry, "lifetime of the URL (at most 168h)")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}
