package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api/manage"
)

// newAccountCmd is `tenantml account`: the deployment's accounts.
func newAccountCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Manage the deployment's accounts (e.g. dev, staging, prod)",
		Long: `An account is an IAM namespace with its own root user, as on AWS: users, roles,
policies, KMS keys and SageMaker resources of one account are not visible from another,
and reach across accounts only as AWS allows (a role's trust policy, a key policy, a
bucket policy, together with the caller's own identity policies). The primary account
is the configured --account-id. Only the platform (never a tenant's principal) creates
and lists accounts. Credentials come from TENANTML_ACCESS_KEY_ID/TENANTML_SECRET_ACCESS_KEY
or ~/.tenantml/credentials.`,
	}
	addClientFlags(cmd)
	cmd.AddCommand(newAccountCreateCmd(), newAccountListCmd())
	return cmd
}

func newAccountCreateCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an account with a fresh 12-digit ID and its own root credentials (shown once)",
		Example: "  tenantml account create dev\n  tenantml account create staging -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.CreateAccountOutput
			if err := c.do(cmd.Context(), "POST", "/api/v1/accounts", manage.CreateAccountInput{Name: args[0]}, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				fmt.Fprintf(w, "Created account %s (%s). Its root credentials are shown only once; store them now:\n", out.Account.Name, out.Account.ID)
				fmt.Fprintf(w, "  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=%s\n", out.Root.AccessKeyID, out.Root.SecretAccessKey)
				return nil
			})
		},
	}
}

func newAccountListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the deployment's accounts, the primary one first",
		Example: "  tenantml account list\n  tenantml account list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.ListAccountsOutput
			if err := c.do(cmd.Context(), "GET", "/api/v1/accounts", nil, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				fmt.Fprintln(w, "ID\tNAME\tPRIMARY")
				for _, a := range out.Accounts {
					fmt.Fprintf(w, "%s\t%s\t%v\n", a.ID, a.Name, a.Primary)
				}
				return nil
			})
		},
	}
}

// furtherAccounts lists the IDs of the accounts beyond the primary one
// (serving.Controller.Accounts: their endpoints resume at start too).
func (s *server) furtherAccounts(ctx context.Context) ([]string, error) {
	all, err := s.store.Accounts().ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(all))
	for i, a := range all {
		ids[i] = a.ID
	}
	return ids, nil
}
