package image

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
	all    bool
	force  bool
	filter command.FilterOpt
}

func newPruneCommand(deps *Deps) *cobra.Command {
	opts := pruneOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPrune(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Remove all unused images, not just dangling ones")
	flags.BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation")
	flags.Var(&opts.filter, "filter", "Provide filter values (e.g. \"until=<timestamp>\")")
	return cmd
}

func runPrune(ctx context.Context, deps *Deps, opts *pruneOptions) error {
	filters := opts.filter.Value().Clone()
	warning := "WARNING! This will remove all dangling images."
	if opts.all {
		warning = "WARNING! This will remove all images without at least one container associated to them."
		filters.Add("dangling", "false")
	} else {
		filters.Add("dangling", "true")
	}
	if !opts.force && !command.Confirm(deps.In, deps.Out, warning+"\nAre you sure you want to continue?") {
		return nil
	}
	res, err := deps.Client.ImagePrune(ctx, client.ImagePruneOptions{Filters: filters})
	if err != nil {
		return err
	}
	if deleted := res.Report.ImagesDeleted; len(deleted) > 0 {
		var b strings.Builder
		b.WriteString("Deleted Images:\n")
		for _, d := range deleted {
			if d.Untagged != "" {
				fmt.Fprintf(&b, "untagged: %s\n", d.Untagged)
			} else {
				fmt.Fprintf(&b, "deleted: %s\n", d.Deleted)
			}
		}
		fmt.Fprintln(deps.Out, b.String())
	}
	fmt.Fprintln(deps.Out, "Total reclaimed space:", units.HumanSize(float64(res.Report.SpaceReclaimed)))
	return nil
}
