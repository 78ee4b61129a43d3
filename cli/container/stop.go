package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

// stopOptions are the options of stop and restart.
type stopOptions struct {
	signal     string
	timeout    int
	timeoutSet bool
	containers []string
}

func (o *stopOptions) fromArgs(cmd *cobra.Command, args []string) {
	o.containers = args
	o.timeoutSet = cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
}

// timeoutPtr is the -t value, or nil to keep the container's own timeout.
func (o *stopOptions) timeoutPtr() *int {
	if !o.timeoutSet {
		return nil
	}
	return &o.timeout
}

func newStopCommand(deps *Deps) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.fromArgs(cmd, args)
			return runStop(cmd.Context(), deps, &opts)
		},
	}
	addStopFlags(cmd, &opts)
	return cmd
}

// addStopFlags adds the --signal and --time flags of stop and restart.
func addStopFlags(cmd *cobra.Command, opts *stopOptions) {
	flags := cmd.Flags()
	flags.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	flags.IntVarP(&opts.timeout, "time", "t", 0, "Seconds to wait before killing the container")
	flags.IntVar(&opts.timeout, "timeout", 0, "Seconds to wait before killing the container")
	_ = flags.MarkHidden("timeout")
}

func runStop(ctx context.Context, deps *Deps, opts *stopOptions) error {
	return command.ForEach(ctx, deps.Out, opts.containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerStop(ctx, name, client.ContainerStopOptions{Signal: opts.signal, Timeout: opts.timeoutPtr()})
		return err
	})
}
