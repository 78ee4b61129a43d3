package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type pruneOptions struct {
	all    bool
	force  bool
	filter command.FilterOpt
}

func newPruneCommand(deps *Deps) *cobra.Command {
	opts := pruneOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPrune(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	flags.Var(&opts.filter, "filter", "Provide filter values (e.g. \"label=<label>\")")
	flags.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

const (
	anonymousWarning = "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
	allWarning       = "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
)

// runPrune asks first unless --force, then prints the volumes removed and
// the space reclaimed.
func runPrune(ctx context.Context, deps *Deps, opts *pruneOptions) error {
	filters := opts.filter.Value().Clone()
	warning := anonymousWarning
	if opts.all {
		if _, ok := filters["all"]; ok {
			return errors.New("conflicting options: cannot specify both --all and --filter all=1")
		}
		filters.Add("all", "true")
		warning = allWarning
	}
	if !opts.force && !command.Confirm(deps.In, deps.Out, warning) {
		return nil
	}
	res, err := deps.Client.VolumePrune(ctx, client.VolumePruneOptions{Filters: filters})
	if err != nil {
		return err
	}
	if deleted := res.Report.VolumesDeleted; len(deleted) > 0 {
		fmt.Fprintf(deps.Out, "Deleted Volumes:\n%s\n\n", strings.Join(deleted, "\n"))
	}
	fmt.Fprintln(deps.Out, "Total reclaimed space:", units.HumanSize(float64(res.Report.SpaceReclaimed)))
	return nil
}
