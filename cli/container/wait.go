package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

func newWaitCommand(deps *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWait(cmd.Context(), deps, args)
		},
	}
}

// runWait waits for each container in turn (condition not-running) and
// prints its exit code.
func runWait(ctx context.Context, deps *Deps, containers []string) error {
	var errs []error
	for _, name := range containers {
		res := deps.Client.ContainerWait(ctx, name, client.ContainerWaitOptions{})
		select {
		case r := <-res.Result:
			if r.Error != nil {
				errs = append(errs, errors.New(r.Error.Message))
				continue
			}
			fmt.Fprintln(deps.Out, r.StatusCode)
		case err := <-res.Error:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
