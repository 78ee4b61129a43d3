package container

import "github.com/spf13/cobra"

// NewContainerCommand returns `pouch container` and its subcommands.
func NewContainerCommand(deps *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newAttachCommand(deps),
		newCommitCommand(deps),
		newCpCommand(deps),
		newDiffCommand(deps),
		newExportCommand(deps),
		newCreateCommand(deps),
		newExecCommand(deps),
		newInspectCommand(deps),
		newKillCommand(deps),
		newLogsCommand(deps),
		newPsCommand(deps),
		newPauseCommand(deps),
		newPortCommand(deps),
		newPruneCommand(deps),
		newRenameCommand(deps),
		newRestartCommand(deps),
		newRmCommand(deps),
		newRunCommand(deps),
		newStartCommand(deps),
		newStopCommand(deps),
		newStatsCommand(deps),
		newTopCommand(deps),
		newUpdateCommand(deps),
		newUnpauseCommand(deps),
		newWaitCommand(deps),
	)
	return cmd
}

// NewTopLevelCommands returns the shortcuts docker keeps at the top level:
// `pouch run`, `pouch ps`, `pouch rm` and so on.
func NewTopLevelCommands(deps *Deps) []*cobra.Command {
	ps := newPsCommand(deps)
	ps.Aliases = nil
	rm := newRmCommand(deps)
	rm.Aliases = nil
	return []*cobra.Command{
		newAttachCommand(deps),
		newCommitCommand(deps),
		newCpCommand(deps),
		newDiffCommand(deps),
		newExportCommand(deps),
		newCreateCommand(deps),
		newExecCommand(deps),
		newKillCommand(deps),
		newLogsCommand(deps),
		newPauseCommand(deps),
		newPortCommand(deps),
		ps,
		newRenameCommand(deps),
		newRestartCommand(deps),
		rm,
		newRunCommand(deps),
		newStartCommand(deps),
		newStopCommand(deps),
		newStatsCommand(deps),
		newTopCommand(deps),
		newUpdateCommand(deps),
		newUnpauseCommand(deps),
		newWaitCommand(deps),
	}
}
