package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type rmOptions struct {
	force      bool
	volumes    bool
	containers []string
}

func newRmCommand(deps *Deps) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more containers",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runRm(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	flags.BoolVarP(&opts.volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return cmd
}

func runRm(ctx context.Context, deps *Deps, opts *rmOptions) error {
	return command.ForEach(ctx, deps.Out, opts.containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerRemove(ctx, name, client.ContainerRemoveOptions{
			Force:         opts.force,
			RemoveVolumes: opts.volumes,
		})
		return err
	})
}
