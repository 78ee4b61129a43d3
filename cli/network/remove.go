package network

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type removeOptions struct {
	force    bool
	networks []string
}

func newRemoveCommand(deps *Deps) *cobra.Command {
	var opts removeOptions
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.networks = args
			return runRemove(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}

// runRemove removes the networks one by one, printing each name removed.
// The failures are joined into the returned error; with --force a
// network that does not exist is skipped silently.
func runRemove(ctx context.Context, deps *Deps, opts *removeOptions) error {
	var errs []error
	for _, name := range opts.networks {
		if _, err := deps.Client.NetworkRemove(ctx, name, client.NetworkRemoveOptions{}); err != nil {
			if opts.force && cerrdefs.IsNotFound(err) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(deps.Out, name)
	}
	return errors.Join(errs...)
}
