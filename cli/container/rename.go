package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type renameOptions struct {
	oldName string
	newName string
}

func newRenameCommand(deps *Deps) *cobra.Command {
	var opts renameOptions
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.oldName, opts.newName = args[0], args[1]
			return runRename(cmd.Context(), deps, &opts)
		},
	}
}

func runRename(ctx context.Context, deps *Deps, opts *renameOptions) error {
	_, err := deps.Client.ContainerRename(ctx, opts.oldName, client.ContainerRenameOptions{NewName: opts.newName})
	return err
}
