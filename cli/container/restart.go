package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

func newRestartCommand(deps *Deps) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.fromArgs(cmd, args)
			return runRestart(cmd.Context(), deps, &opts)
		},
	}
	addStopFlags(cmd, &opts)
	return cmd
}

func runRestart(ctx context.Context, deps *Deps, opts *stopOptions) error {
	return command.ForEach(ctx, deps.Out, opts.containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerRestart(ctx, name, client.ContainerRestartOptions{Signal: opts.signal, Timeout: opts.timeoutPtr()})
		return err
	})
}
