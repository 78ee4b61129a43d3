package network

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type disconnectOptions struct {
	network   string
	container string
	force     bool
}

func newDisconnectCommand(deps *Deps) *cobra.Command {
	var opts disconnectOptions
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.network, opts.container = args[0], args[1]
			return runDisconnect(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}

func runDisconnect(ctx context.Context, deps *Deps, opts *disconnectOptions) error {
	_, err := deps.Client.NetworkDisconnect(ctx, opts.network, client.NetworkDisconnectOptions{
		Container: opts.container,
		Force:     opts.force,
	})
	return err
}
