package volume

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type removeOptions struct {
	force   bool
	volumes []string
}

func newRemoveCommand(deps *Deps) *cobra.Command {
	var opts removeOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Long:    "Remove one or more volumes. You cannot remove a volume that is in use by a container.",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.volumes = args
			return runRemove(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}

// runRemove removes the volumes one by one, printing each name removed;
// the failures are joined into the returned error. --force goes to the
// daemon, which then ignores volumes that do not exist (never one in use).
func runRemove(ctx context.Context, deps *Deps, opts *removeOptions) error {
	var errs []error
	for _, name := range opts.volumes {
		if _, err := deps.Client.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: opts.force}); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(deps.Out, name)
	}
	return errors.Join(errs...)
}
