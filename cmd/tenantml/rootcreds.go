package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store"
)

// newRootCredsCmd is `tenantml root`: the operator's root credentials.
func newRootCredsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "root",
		Short: "Manage the operator's root credentials",
		Long: `The operator's root credentials are made on the first start of tenantml serve and
printed once; the store keeps the secret sealed under the master key. Lost or leaked
ones are replaced offline with "tenantml root rotate".`,
	}
	cmd.AddCommand(newRootRotateCmd())
	return cmd
}

func newRootRotateCmd() *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "rotate --data-dir DIR [--store URL]",
		Short: "Replace the root credentials (offline: needs the master key and the store)",
		Long: `Rotate replaces the operator's root credentials in the store the server uses
(--data-dir, and --store when it is PostgreSQL; the same settings, environment and
--config file as tenantml serve). It needs <data-dir>/master.key to seal the new
secret, so only whoever holds the master key can run it.

With TENANTML_ROOT_ACCESS_KEY_ID and TENANTML_ROOT_SECRET_ACCESS_KEY set, those become
the new credentials; otherwise new ones are generated and printed once, like on the
first start. The old credentials stop working when every server using the store has
been restarted (each reads the root credentials when it starts).

With --account ID it replaces the root credentials of a further account (tenantml
account create); servers stop accepting the old ones within seconds, without a restart.`,
		Example: "  tenantml root rotate --data-dir ./tenantml-data\n" +
			"  tenantml root rotate --data-dir /var/lib/tenantml --store postgres://tenantml_app@db/tenantml\n" +
			"  tenantml root rotate --data-dir ./tenantml-data --account 123456789012",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), os.Getenv)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := cmd.OutOrStdout()
			if account != "" && account != cfg.AccountID {
				creds, generated, err := rotateAccountRoot(cmd.Context(), cfg, account, rand.Reader)
				if err != nil {
					return err
				}
				if generated {
					fmt.Fprintf(out, "Rotated the root credentials of account %s. They are shown only once; store them now:\n  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=%s\n", account, creds.AccessKeyID, creds.Secret)
				} else {
					fmt.Fprintf(out, "Rotated the root credentials of account %s to TENANTML_ROOT_ACCESS_KEY_ID=%s.\n", account, creds.AccessKeyID)
				}
				return nil
			}
			creds, generated, err := rotateRoot(cmd.Context(), cfg, rand.Reader)
			if err != nil {
				return err
			}
			if generated {
				fmt.Fprintf(out, "Rotated the operator's root credentials. They are shown only once; store them now:\n  export TENANTML_ACCESS_KEY_ID=%s\n  export TENANTML_SECRET_ACCESS_KEY=%s\n", creds.AccessKeyID, creds.Secret)
			} else {
				fmt.Fprintf(out, "Rotated the operator's root credentials to TENANTML_ROOT_ACCESS_KEY_ID=%s.\n", creds.AccessKeyID)
			}
			fmt.Fprintln(out, "Restart every tenantml serve using this store: until it restarts, a server still accepts the old credentials.")
			return nil
		},
	}
	addConfigFlags(cmd)
	cmd.Flags().StringVar(&account, "account", "", "12-digit ID of a further account whose root credentials to rotate (default: the primary account's)")
	return cmd
}

// rotateAccountRoot replaces the root key of the further account id in
// cfg's store (identity.Accounts.RotateRoot), as rotateRoot does for the
// primary account's.
func rotateAccountRoot(ctx context.Context, cfg *config, id string, rand io.Reader) (key identity.RootKey, generated bool, err error) {
	kek, st, err := openOffline(ctx, cfg, rand)
	if err != nil {
		return key, false, err
	}
	defer st.Close()
	accts := &identity.Accounts{Store: st.Accounts(), Secrets: st.Secrets(), KEK: kek, Primary: cfg.AccountID, Rand: rand}
	return accts.RotateRoot(ctx, st.Secrets(), id, identity.RootKey{AccessKeyID: cfg.RootAccessKeyID, Secret: []byte(cfg.RootSecretKey)})
}

// rotateRoot replaces the root key in cfg's store (identity.RotateRoot)
// with the configured one, or a generated one (generated=true). The data
// directory must hold a master key and, on SQLite, a metadata database:
// rotation never initialises a data directory.
func rotateRoot(ctx context.Context, cfg *config, rand io.Reader) (key identity.RootKey, generated bool, err error) {
	kek, st, err := openOffline(ctx, cfg, rand)
	if err != nil {
		return key, false, err
	}
	defer st.Close()
	return identity.RotateRoot(ctx, st.Secrets(), kek, identity.RootKey{AccessKeyID: cfg.RootAccessKeyID, Secret: []byte(cfg.RootSecretKey)}, rand)
}

// openOffline opens the master key and the store of an existing data
// directory, refusing to initialise one.
func openOffline(ctx context.Context, cfg *config, rand io.Reader) (keys.KEK, store.Store, error) {
	keyPath := filepath.Join(cfg.DataDir, "master.key")
	if _, err := os.Stat(keyPath); err != nil {
		return nil, nil, fmt.Errorf("master key: %w (is --data-dir the server's data directory?)", err)
	}
	if cfg.Store == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "metadata.db")); err != nil {
			return nil, nil, fmt.Errorf("metadata store: %w (is --data-dir the server's data directory?)", err)
		}
	}
	kek, err := keys.OpenLocalKEK(keyPath, rand)
	if err != nil {
		return nil, nil, fmt.Errorf("open master key: %w", err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return kek, st, nil
}

// rootRecoveryHint is what serve prints at a start that finds the root
// credentials already made: they were printed only on the first start.
func rootRecoveryHint(accessKeyID string, cfg *config) string {
	rotate := "tenantml root rotate --data-dir " + cfg.DataDir
	if cfg.Store != "" {
		rotate += " --store <this server's --store>"
	}
	return fmt.Sprintf("Root credentials: access key %s, made on the first start (the secret was printed then).\n"+
		"  Lost or leaked? Run %s, then restart the server.\n", accessKeyID, rotate)
}
