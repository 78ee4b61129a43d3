package container

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

// Exit codes of create and run, as docker's.
const (
	exitEngineError   = 125 // the daemon or the flags failed
	exitCannotExecute = 126 // the command exists but cannot be run
	exitNotFound      = 127 // the command was not found
)

func newCreateCommand(deps *Deps) *cobra.Command {
	var opts containerOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.fromFlags(cmd.Flags(), args)
			return runCreate(cmd.Context(), deps, &opts)
		},
	}
	addContainerFlags(cmd.Flags(), &opts)
	return cmd
}

func runCreate(ctx context.Context, deps *Deps, opts *containerOptions) error {
	req, err := opts.parse()
	if err != nil {
		return usageError("pouch create", err)
	}
	id, err := createContainer(ctx, deps, req)
	if err != nil {
		return engineError(err)
	}
	fmt.Fprintln(deps.Out, id)
	return nil
}

// usageError reports bad flag values: exit code 125 and a hint to --help.
func usageError(helpPath string, err error) error {
	return command.StatusError{
		Err:        command.ReportedError{Err: err, HelpPath: helpPath},
		StatusCode: exitEngineError,
	}
}

// engineError reports a daemon failure while creating: exit code 125.
func engineError(err error) error {
	return command.StatusError{Err: command.ReportedError{Err: err}, StatusCode: exitEngineError}
}
