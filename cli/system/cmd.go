package system

import "github.com/spf13/cobra"

// NewTopLevelCommands returns `pouch version`, `pouch info` and
// `pouch inspect`.
func NewTopLevelCommands(deps *Deps) []*cobra.Command {
	return []*cobra.Command{
		newEventsCommand(deps),
		newInfoCommand(deps),
		newInspectCommand(deps),
		newVersionCommand(deps),
	}
}
