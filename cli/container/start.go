package container

import (
	"context"
	"errors"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type startOptions struct {
	attach      bool
	interactive bool
	detachKeys  string
	containers  []string
}

func newStartCommand(deps *Deps) *cobra.Command {
	var opts startOptions
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runStart(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	flags.BoolVarP(&opts.interactive, "interactive", "i", false, "Attach container's STDIN")
	flags.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

func runStart(ctx context.Context, deps *Deps, opts *startOptions) error {
	if !opts.attach && !opts.interactive {
		return command.ForEach(ctx, deps.Out, opts.containers, func(ctx context.Context, name string) error {
			_, err := deps.Client.ContainerStart(ctx, name, client.ContainerStartOptions{})
			return err
		})
	}
	if len(opts.containers) > 1 {
		return errors.New("you cannot start and attach multiple containers at once")
	}
	res, err := deps.Client.ContainerInspect(ctx, opts.containers[0], client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c := res.Container
	spec := attachSpec{sigProxy: true, detachKeys: opts.detachKeys}
	if c.Config != nil {
		spec.tty = c.Config.Tty
		spec.stdin = opts.interactive && c.Config.OpenStdin
	}
	if c.HostConfig != nil {
		spec.autoRemove = c.HostConfig.AutoRemove
	}
	err = startAttached(ctx, deps, c.ID, spec)
	var startErr errStart
	if errors.As(err, &startErr) {
		return startErr.err
	}
	return err
}
