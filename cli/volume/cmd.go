package volume

import "github.com/spf13/cobra"

// NewVolumeCommand returns `pouch volume` and its subcommands.
func NewVolumeCommand(deps *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume COMMAND",
		Short: "Manage volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newCreateCommand(deps),
		newInspectCommand(deps),
		newListCommand(deps),
		newPruneCommand(deps),
		newRemoveCommand(deps),
	)
	return cmd
}
