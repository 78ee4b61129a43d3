package image

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
	noPrune bool
	images  []string
}

func newRemoveCommand(deps *Deps) *cobra.Command {
	var opts removeOptions
	cmd := &cobra.Command{
		Use:     "rmi [OPTIONS] IMAGE [IMAGE...]",
		Aliases: []string{"rm", "remove"},
		Short:   "Remove one or more images",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runRemove(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.force, "force", "f", false, "Force removal of the image")
	flags.BoolVar(&opts.noPrune, "no-prune", false, "Do not delete untagged parents")
	return cmd
}

// runRemove removes each image and prints what the daemon untagged and
// deleted.
func runRemove(ctx context.Context, deps *Deps, opts *removeOptions) error {
	var errs []error
	for _, name := range opts.images {
		res, err := deps.Client.ImageRemove(ctx, name, client.ImageRemoveOptions{
			Force:         opts.force,
			PruneChildren: !opts.noPrune,
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, d := range res.Items {
			if d.Untagged != "" {
				fmt.Fprintln(deps.Out, "Untagged:", d.Untagged)
			}
			if d.Deleted != "" {
				fmt.Fprintln(deps.Out, "Deleted:", d.Deleted)
			}
		}
	}
	return errors.Join(errs...)
}
