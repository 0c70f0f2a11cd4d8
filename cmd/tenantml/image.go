package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving/fleet"
	"github.com/tenantml/tenantml/serving/local"
)

// newImageCmd is `tenantml image`: the model server images the operator
// registers, which tenants' models may name in their container's Image.
func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Register the model servers tenants' models may name as their Image",
		Long: `A container's Image selects its model server: tenantml/xgboost and SageMaker's
XGBoost image URIs run the native runtime; any other name must be an image the
operator registered here, with the command that starts it and its sandbox
settings. A tenant names an image, never a command, so CreateModel cannot become
code execution on the host.

Images live in <data-dir>/images.json; tenantml serve reads it when it starts, so
restart the servers that use the data directory after a change.`,
	}
	cmd.AddCommand(newImageRegisterCmd(), newImageListCmd(), newImageRemoveCmd())
	return cmd
}

func newImageRegisterCmd() *cobra.Command {
	var img local.Image
	var env []string
	cmd := &cobra.Command{
		Use:   "register NAME --data-dir DIR [--env KEY=VALUE]... [--unpack] [--keep-files] [--tcp] -- COMMAND [ARG...]",
		Short: "Register (or replace) a model server image",
		Long: `Register makes NAME an image tenants' models may name. COMMAND is the server's
argv: an absolute path its workers' users can execute, then its arguments. The
server speaks the SageMaker inference container contract on the socket the
supervisor gives it (SAGEMAKER_BIND_TO_PORT with --tcp).

--unpack extracts model.tar.gz into the model directory as /opt/ml/model is;
--keep-files leaves the delivered files while the model is loaded (otherwise
they are deleted once the worker reports it loaded); --tcp listens on a loopback
port instead of a Unix socket (no network namespace of its own: only for servers
that cannot use a socket).`,
		Example: "  tenantml image register sklearn --data-dir ./tenantml-data --unpack -- /usr/bin/python3 /opt/servers/sklearn_server.py",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			img.Command = args[1:]
			if len(env) > 0 {
				img.Env = map[string]string{}
				for _, kv := range env {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return &exitError{code: 2, err: fmt.Errorf("--env %q: want KEY=VALUE", kv)}
					}
					img.Env[k] = v
				}
			}
			if err := checkImage(name, img); err != nil {
				return &exitError{code: 2, err: err}
			}
			dir, err := imageDataDir(cmd)
			if err != nil {
				return err
			}
			images, err := loadImages(dir)
			if err != nil {
				return err
			}
			_, replaced := images[name]
			images[name] = img
			if err := saveImages(dir, images); err != nil {
				return err
			}
			verb := "Registered"
			if replaced {
				verb = "Replaced"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s image %s. Restart tenantml serve on %s for it to take effect.\n", verb, name, dir)
			return nil
		},
	}
	cmd.Flags().String("data-dir", "", "the server's data directory (env TENANTML_DATA_DIR, default ./tenantml-data)")
	cmd.Flags().StringArrayVar(&env, "env", nil, "environment variable KEY=VALUE for the server (repeatable)")
	cmd.Flags().BoolVar(&img.Unpack, "unpack", false, "extract model.tar.gz into the model directory")
	cmd.Flags().BoolVar(&img.KeepFiles, "keep-files", false, "keep the delivered model files while the model is loaded")
	cmd.Flags().BoolVar(&img.TCP, "tcp", false, "listen on a loopback TCP port instead of a Unix socket")
	return cmd
}

func newImageListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list --data-dir DIR",
		Short:   "List the registered model server images",
		Example: "  tenantml image list --data-dir ./tenantml-data -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := imageDataDir(cmd)
			if err != nil {
				return err
			}
			images, err := loadImages(dir)
			if err != nil {
				return err
			}
			return printOutput(cmd, images, func(w io.Writer) error {
				names := make([]string, 0, len(images))
				for n := range images {
					names = append(names, n)
				}
				sort.Strings(names)
				fmt.Fprintln(w, "NAME\tCOMMAND\tUNPACK\tTCP")
				for _, n := range names {
					img := images[n]
					fmt.Fprintf(w, "%s\t%s\t%t\t%t\n", n, strings.Join(img.Command, " "), img.Unpack, img.TCP)
				}
				return nil
			})
		},
	}
	cmd.Flags().String("data-dir", "", "the server's data directory (env TENANTML_DATA_DIR, default ./tenantml-data)")
	addOutputFlag(cmd, "table")
	return cmd
}

func newImageRemoveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "remove NAME --data-dir DIR",
		Short:   "Remove a registered model server image (models naming it fail to deploy after a restart)",
		Example: "  tenantml image remove sklearn --data-dir ./tenantml-data",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := imageDataDir(cmd)
			if err != nil {
				return err
			}
			images, err := loadImages(dir)
			if err != nil {
				return err
			}
			if _, ok := images[args[0]]; !ok {
				return tenantml.Errorf(tenantml.ENOTFOUND, "no image %q is registered in %s", args[0], dir)
			}
			delete(images, args[0])
			if err := saveImages(dir, images); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed image %s. Restart tenantml serve on %s for it to take effect.\n", args[0], dir)
			return nil
		},
	}
	cmd.Flags().String("data-dir", "", "the server's data directory (env TENANTML_DATA_DIR, default ./tenantml-data)")
	return cmd
}

// imageDataDir is the data directory a command names: --data-dir, else
// TENANTML_DATA_DIR, else serve's default. It must exist.
func imageDataDir(cmd *cobra.Command) (string, error) {
	dir, _ := cmd.Flags().GetString("data-dir")
	if dir == "" {
		dir = os.Getenv("TENANTML_DATA_DIR")
	}
	if dir == "" {
		dir = "tenantml-data"
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", &exitError{code: 2, err: fmt.Errorf("data directory %s does not exist: start tenantml serve on it once, or name it with --data-dir", dir)}
	}
	return dir, nil
}

// checkImage refuses what the supervisor could not run, and the native
// runtime's names.
func checkImage(name string, img local.Image) error {
	switch {
	case name == "" || len(name) > 255 || strings.ContainsAny(name, " \t\n\x00"):
		return fmt.Errorf("image name %q: 1 to 255 characters without spaces", name)
	case fleet.NativeImage(name):
		return fmt.Errorf("image name %q is the native XGBoost runtime's: choose another", name)
	case len(img.Command) == 0 || !filepath.IsAbs(img.Command[0]):
		return fmt.Errorf("the command must start with an absolute path, got %q", strings.Join(img.Command, " "))
	}
	if fi, err := os.Stat(img.Command[0]); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", img.Command[0])
	}
	return nil
}

// saveImages writes the registered images atomically (a temporary file
// renamed over images.json), readable by the server's user only.
func saveImages(dir string, images map[string]local.Image) error {
	b, err := json.MarshalIndent(images, "", "  ")
	if err != nil {
		return fmt.Errorf("encode images: %w", err)
	}
	f, err := os.CreateTemp(dir, ".images-*.json")
	if err != nil {
		return fmt.Errorf("write images: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write images: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write images: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write images: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write images: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, imagesFile)); err != nil {
		return fmt.Errorf("write images: %w", err)
	}
	return nil
}
