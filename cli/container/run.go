package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type runOptions struct {
	containerOptions
	detach     bool
	sigProxy   bool
	detachKeys string
}

func newRunCommand(deps *Deps) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.fromFlags(cmd.Flags(), args)
			return runRun(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	addContainerFlags(flags, &opts.containerOptions)
	flags.BoolVarP(&opts.detach, "detach", "d", false, "Run container in background and print container ID")
	flags.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	flags.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runRun creates the container and either starts it in the background
// (-d, printing its ID) or attaches to it, starts it and exits with its
// exit code.
func runRun(ctx context.Context, deps *Deps, opts *runOptions) error {
	req, err := opts.parse()
	if err != nil {
		return usageError("pouch run", err)
	}
	cfg := req.Config
	if opts.detach {
		cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr, cfg.StdinOnce = false, false, false, false
	}
	if cfg.Tty && !opts.detach {
		// The terminal's size from the first instruction on, as docker.
		if h, w, ok := terminalSize(deps.Out); ok {
			req.HostConfig.ConsoleSize = [2]uint{h, w}
		}
	}

	id, err := createContainer(ctx, deps, req)
	if err != nil {
		return engineError(err)
	}

	if opts.detach {
		if _, err := deps.Client.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return runStartError(err)
		}
		fmt.Fprintln(deps.Out, id)
		return nil
	}

	err = startAttached(ctx, deps, id, attachSpec{
		stdin:      cfg.AttachStdin,
		tty:        cfg.Tty,
		autoRemove: req.HostConfig.AutoRemove,
		sigProxy:   opts.sigProxy,
		detachKeys: opts.detachKeys,
	})
	var startErr errStart
	if errors.As(err, &startErr) {
		return runStartError(startErr.err)
	}
	return err
}

func runStartError(err error) error {
	return command.StatusError{Err: command.ReportedError{Err: err}, StatusCode: runExitCode(err)}
}
