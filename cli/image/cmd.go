package image

import "github.com/spf13/cobra"

// NewImageCommand returns `pouch image` and its subcommands.
func NewImageCommand(deps *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	ls := newImagesCommand(deps)
	ls.Use = "ls [OPTIONS] [REPOSITORY[:TAG]]"
	ls.Aliases = []string{"images", "list"}
	rm := newRemoveCommand(deps)
	rm.Use = "rm [OPTIONS] IMAGE [IMAGE...]"
	rm.Aliases = []string{"rmi", "remove"}
	cmd.AddCommand(
		newHistoryCommand(deps),
		newImportCommand(deps),
		newInspectCommand(deps),
		newLoadCommand(deps),
		ls,
		newPruneCommand(deps),
		newPullCommand(deps),
		newPushCommand(deps),
		rm,
		newSaveCommand(deps),
		newTagCommand(deps),
	)
	return cmd
}

// NewTopLevelCommands returns the shortcuts docker keeps at the top level:
// `pouch images`, `pouch rmi`, `pouch tag`, `pouch history`, `pouch load`,
// `pouch save`, `pouch pull` and `pouch push`.
func NewTopLevelCommands(deps *Deps) []*cobra.Command {
	images := newImagesCommand(deps)
	images.Aliases = nil
	rmi := newRemoveCommand(deps)
	rmi.Aliases = nil
	return []*cobra.Command{
		newHistoryCommand(deps),
		images,
		newImportCommand(deps),
		newLoadCommand(deps),
		newPullCommand(deps),
		newPushCommand(deps),
		rmi,
		newSaveCommand(deps),
		newTagCommand(deps),
	}
}
