package registry

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/config"
)

func newLogoutCommand(deps *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Long:  "Log out from a registry.\nDefaults to Docker Hub if no server is specified.",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			return runLogout(deps, server)
		},
	}
}

// runLogout removes the stored credentials for server, whichever way the
// address was spelled when they were stored. The daemon is not involved.
func runLogout(deps *Deps, server string) error {
	key := config.ServerKey(server)
	cfg, err := config.Load(deps.ConfigDir)
	if err != nil {
		return err
	}
	if !cfg.RemoveCredentials(key) {
		fmt.Fprintf(deps.Out, "Not logged in to %s\n", key)
		return nil
	}
	fmt.Fprintf(deps.Out, "Removing login credentials for %s\n", key)
	return cfg.Save()
}
