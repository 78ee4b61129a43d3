package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type stopOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
	containers []string
}

func newStopCommand(deps *Deps) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			opts.timeoutSet = cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
			return runStop(cmd.Context(), deps, &opts)
		},
	}
	addStopFlags(cmd, &opts.signal, &opts.timeout)
	return cmd
}

// addStopFlags adds the --signal and --time flags of stop and restart.
func addStopFlags(cmd *cobra.Command, signal *string, timeout *int) {
	flags := cmd.Flags()
	flags.StringVarP(signal, "signal", "s", "", "Signal to send to the container")
	flags.IntVarP(timeout, "time", "t", 0, "Seconds to wait before killing the container")
	flags.IntVar(timeout, "timeout", 0, "Seconds to wait before killing the container")
	_ = flags.MarkHidden("timeout")
}

func runStop(ctx context.Context, deps *Deps, opts *stopOptions) error {
	var timeout *int
	if opts.timeoutSet {
		timeout = &opts.timeout
	}
	return command.ForEach(ctx, deps.Out, opts.containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerStop(ctx, name, client.ContainerStopOptions{Signal: opts.signal, Timeout: timeout})
		return err
	})
}
