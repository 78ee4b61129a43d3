package network

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type pruneOptions struct {
	force  bool
	filter command.FilterOpt
}

func newPruneCommand(deps *Deps) *cobra.Command {
	opts := pruneOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPrune(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	flags.Var(&opts.filter, "filter", "Provide filter values (e.g. \"until=<timestamp>\")")
	return cmd
}

// runPrune asks first unless --force, then prints the networks removed.
func runPrune(ctx context.Context, deps *Deps, opts *pruneOptions) error {
	const warning = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?"
	if !opts.force && !command.Confirm(deps.In, deps.Out, warning) {
		return nil
	}
	res, err := deps.Client.NetworkPrune(ctx, client.NetworkPruneOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	if deleted := res.Report.NetworksDeleted; len(deleted) > 0 {
		fmt.Fprintf(deps.Out, "Deleted Networks:\n%s\n\n", strings.Join(deleted, "\n"))
	}
	return nil
}
