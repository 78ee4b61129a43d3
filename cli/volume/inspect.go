package volume

import (
	"context"
	"encoding/json"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type inspectOptions struct {
	format  string
	volumes []string
}

func newInspectCommand(deps *Deps) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.volumes = args
			return runInspect(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

// runInspect prints the volumes as the daemon sent them: a JSON array, or
// each one through the --format template.
func runInspect(ctx context.Context, deps *Deps, opts *inspectOptions) error {
	return formatter.Inspect(deps.Out, opts.format, opts.volumes, func(name string) (json.RawMessage, error) {
		res, err := deps.Client.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
		return res.Raw, err
	})
}
