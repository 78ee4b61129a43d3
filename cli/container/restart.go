package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type restartOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
	containers []string
}

func newRestartCommand(deps *Deps) *cobra.Command {
	var opts restartOptions
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.timeoutSet = cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
			return runRestart(cmd.Context(), deps, &opts)
		},
	}
	addStopFlags(cmd, &opts.signal, &opts.timeout)
	return cmd
}

func runRestart(ctx context.Context, deps *Deps, opts *restartOptions) error {
	var timeout *int
	if opts.timeoutSet {
		timeout = &opts.timeout
	}
	return command.ForEach(ctx, deps.Out, opts.containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerRestart(ctx, name, client.ContainerRestartOptions{Signal: opts.signal, Timeout: timeout})
		return err
	})
}
