package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type killOptions struct {
	signal     string
	containers []string
}

func newKillCommand(deps *Deps) *cobra.Command {
	var opts killOptions
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runKill(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container (default KILL)")
	return cmd
}

func runKill(ctx context.Context, deps *Deps, opts *killOptions) error {
	return command.ForEach(ctx, deps.Out, opts.containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerKill(ctx, name, client.ContainerKillOptions{Signal: opts.signal})
		return err
	})
}
