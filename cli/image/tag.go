package image

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type tagOptions struct {
	source string
	target string
}

func newTagCommand(deps *Deps) *cobra.Command {
	var opts tagOptions
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source, opts.target = args[0], args[1]
			return runTag(cmd.Context(), deps, &opts)
		},
	}
}

func runTag(ctx context.Context, deps *Deps, opts *tagOptions) error {
	_, err := deps.Client.ImageTag(ctx, client.ImageTagOptions{Source: opts.source, Target: opts.target})
	return err
}
