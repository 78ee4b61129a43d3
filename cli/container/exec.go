package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type execOptions struct {
	interactive bool
	tty         bool
	detach      bool
	env         []string
	envFiles    []string
	user        string
	workdir     string
	privileged  bool
	detachKeys  string
}

func newExecCommand(deps *Deps) *cobra.Command {
	var opts execOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  command.RequiresMinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), deps, &opts, args[0], args[1:])
		},
	}
	flags := cmd.Flags()
	flags.SetInterspersed(false)
	flags.BoolVarP(&opts.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	flags.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	flags.BoolVarP(&opts.detach, "detach", "d", false, "Detached mode: run command in the background")
	flags.StringArrayVarP(&opts.env, "env", "e", nil, "Set environment variables")
	flags.StringArrayVar(&opts.envFiles, "env-file", nil, "Read in a file of environment variables")
	flags.StringVarP(&opts.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	flags.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	flags.BoolVar(&opts.privileged, "privileged", false, "Give extended privileges to the command")
	flags.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runExec runs a command in the container; without -d the CLI's exit code
// is the command's.
func runExec(ctx context.Context, deps *Deps, opts *execOptions, container string, cmd []string) error {
	env, err := readEnv(opts.envFiles, opts.env)
	if err != nil {
		return command.StatusError{Err: command.ReportedError{Err: err}, StatusCode: 1}
	}
	create := client.ExecCreateOptions{
		User: opts.user, Privileged: opts.privileged, TTY: opts.tty, Env: env, WorkingDir: opts.workdir,
		Cmd: cmd, DetachKeys: opts.detachKeys,
		AttachStdin: opts.interactive && !opts.detach, AttachStdout: !opts.detach, AttachStderr: !opts.detach,
	}
	if opts.tty {
		if h, w, ok := terminalSize(deps.Out); ok {
			create.ConsoleSize = client.ConsoleSize{Height: h, Width: w}
		}
	}
	res, err := deps.Client.ExecCreate(ctx, container, create)
	if err != nil {
		return err
	}
	id := res.ID
	if opts.detach {
		_, err := deps.Client.ExecStart(ctx, id, client.ExecStartOptions{Detach: true, TTY: opts.tty})
		return err
	}
	var in = deps.In
	if create.AttachStdin {
		if in, err = detachableInput(deps.In, opts.detachKeys); err != nil {
			return err
		}
		if opts.tty {
			defer rawTerminal(deps.In)()
		}
	} else {
		in = nil
	}
	attach, err := deps.Client.ExecAttach(ctx, id, client.ExecAttachOptions{TTY: opts.tty, ConsoleSize: create.ConsoleSize})
	if err != nil {
		return err
	}
	defer attach.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.tty {
		followTerminalSize(ctx, deps.Out, func(ctx context.Context, h, w uint) error {
			_, err := deps.Client.ExecResize(ctx, id, client.ExecResizeOptions{Height: h, Width: w})
			return err
		})
	}
	if err := streamAttached(ctx, attach.HijackedResponse, in, deps.Out, deps.Err, opts.tty); err != nil {
		if errors.Is(err, errDetached) {
			return nil
		}
		return err
	}
	st, err := deps.Client.ExecInspect(context.WithoutCancel(ctx), id, client.ExecInspectOptions{})
	if err != nil {
		return err
	}
	if st.ExitCode != 0 {
		return command.StatusError{StatusCode: st.ExitCode}
	}
	return nil
}

func newAttachCommand(deps *Deps) *cobra.Command {
	var noStdin, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAttach(cmd.Context(), deps, args[0], !noStdin, sigProxy, detachKeys)
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	flags.BoolVar(&sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	flags.StringVar(&detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runAttach attaches to a running container until it exits (the CLI then
// exits with its code) or the user detaches.
func runAttach(ctx context.Context, deps *Deps, name string, stdin, sigProxy bool, detachKeys string) error {
	res, err := deps.Client.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c := res.Container
	if c.State == nil || !c.State.Running {
		return errors.New("You cannot attach to a stopped container, start it first")
	}
	if c.State.Paused {
		return errors.New("You cannot attach to a paused container, unpause it first")
	}
	spec := attachSpec{noStart: true, sigProxy: sigProxy, detachKeys: detachKeys}
	if c.Config != nil {
		spec.tty = c.Config.Tty
		spec.stdin = stdin && c.Config.OpenStdin
	}
	if err := startAttached(ctx, deps, c.ID, spec); err != nil {
		var se command.StatusError
		if errors.As(err, &se) {
			return err
		}
		return fmt.Errorf("%w", err)
	}
	return nil
}
