package container

import (
	"context"
	"fmt"
	"strings"

	units "github.com/docker/go-units"
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
		Short: "Remove all stopped containers",
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

func runPrune(ctx context.Context, deps *Deps, opts *pruneOptions) error {
	const warning = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"
	if !opts.force && !command.Confirm(deps.In, deps.Out, warning) {
		return nil
	}
	res, err := deps.Client.ContainerPrune(ctx, client.ContainerPruneOptions{Filters: opts.filter.Value()})
	if err != nil {
		return err
	}
	if deleted := res.Report.ContainersDeleted; len(deleted) > 0 {
		fmt.Fprintf(deps.Out, "Deleted Containers:\n%s\n\n", strings.Join(deleted, "\n"))
	}
	fmt.Fprintln(deps.Out, "Total reclaimed space:", units.HumanSize(float64(res.Report.SpaceReclaimed)))
	return nil
}
