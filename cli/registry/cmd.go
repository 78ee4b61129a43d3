package registry

import "github.com/spf13/cobra"

// NewTopLevelCommands returns `pouch login` and `pouch logout`.
func NewTopLevelCommands(deps *Deps) []*cobra.Command {
	return []*cobra.Command{
		newLoginCommand(deps),
		newLogoutCommand(deps),
	}
}
