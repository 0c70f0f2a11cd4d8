package main

import (
	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Each command is defined in its own file
// as newXxxCmd() and added here, one line each.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "tenantml",
		Short:         "Self-hosted multi-tenant ML inference platform",
		Long:          "tenantml is a multi-tenant ML inference platform: tenants, IAM and STS, per-tenant keys, encrypted model artifacts and a tamper-evident audit log behind AWS-compatible APIs, so that no tenant can reach another tenant's models, data, keys or logs. It serves tenants' models in silo, pool and bridge isolation (tenantml serve, tenantml model deploy); tenantml predict runs a model locally.",
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bad -o fails before the command does anything (before an API
		// call that changes state).
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Lookup("output") == nil {
				return nil
			}
			_, err := outputFormat(cmd)
			return err
		},
	}
	root.AddCommand(
		newVersionCmd(),
		newServeCmd(),
		newConfigCmd(),
		newTenantCmd(),
		newAccountCmd(),
		newTierCmd(),
		newKeysCmd(),
		newArtifactCmd(),
		newModelCmd(),
		newRegistryCmd(),
		newPipelineCmd(),
		newPolicyCmd(),
		newAuditCmd(),
		newUsageCmd(),
		newPredictCmd(),
		newRootCredsCmd(),
		newImageCmd(),
		newWorkerCmd(),
		newSandboxCmd(),
	)
	return root
}
