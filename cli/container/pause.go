package container

import (
	"context"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

func newPauseCommand(deps *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPause(cmd.Context(), deps, args)
		},
	}
}

func runPause(ctx context.Context, deps *Deps, containers []string) error {
	return command.ForEach(ctx, deps.Out, containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerPause(ctx, name, client.ContainerPauseOptions{})
		return err
	})
}

func newUnpauseCommand(deps *Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnpause(cmd.Context(), deps, args)
		},
	}
}

func runUnpause(ctx context.Context, deps *Deps, containers []string) error {
	return command.ForEach(ctx, deps.Out, containers, func(ctx context.Context, name string) error {
		_, err := deps.Client.ContainerUnpause(ctx, name, client.ContainerUnpauseOptions{})
		return err
	})
}
