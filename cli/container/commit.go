package container

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type commitOptions struct {
	container string
	reference string
	pause     bool
	comment   string
	author    string
	changes   []string
}

func newCommitCommand(deps *Deps) *cobra.Command {
	var opts commitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			if len(args) > 1 {
				opts.reference = args[1]
			}
			return runCommit(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.SetInterspersed(false)
	flags.BoolVarP(&opts.pause, "pause", "p", true, "Pause container during commit")
	flags.StringVarP(&opts.comment, "message", "m", "", "Commit message")
	flags.StringVarP(&opts.author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	flags.StringArrayVarP(&opts.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	return cmd
}

// runCommit makes the image and prints its ID.
func runCommit(ctx context.Context, deps *Deps, opts *commitOptions) error {
	api := deps.Client
	res, err := api.ContainerCommit(ctx, opts.container, client.ContainerCommitOptions{
		Reference: opts.reference,
		Comment:   opts.comment,
		Author:    opts.author,
		Changes:   opts.changes,
		NoPause:   !opts.pause,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(deps.Out, res.ID)
	return nil
}
