package network

import "github.com/spf13/cobra"

// NewNetworkCommand returns `pouch network` and its subcommands.
func NewNetworkCommand(deps *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newConnectCommand(deps),
		newCreateCommand(deps),
		newDisconnectCommand(deps),
		newInspectCommand(deps),
		newListCommand(deps),
		newPruneCommand(deps),
		newRemoveCommand(deps),
	)
	return cmd
}
