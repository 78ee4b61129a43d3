package container

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

func newDiffCommand(deps *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd.Context(), deps, args[0])
		},
	}
}

// runDiff prints one line per change: C (changed), A (added) or D
// (deleted), then the path.
func runDiff(ctx context.Context, deps *Deps, container string) error {
	api := deps.Client
	res, err := api.ContainerDiff(ctx, container, client.ContainerDiffOptions{})
	if err != nil {
		return err
	}
	for _, ch := range res.Changes {
		fmt.Fprintln(deps.Out, ch.Kind.String(), ch.Path)
	}
	return nil
}
