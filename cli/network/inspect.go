package network

import (
	"context"
	"encoding/json"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type inspectOptions struct {
	format   string
	verbose  bool
	networks []string
}

func newInspectCommand(deps *Deps) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.networks = args
			return runInspect(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	flags.BoolVarP(&opts.verbose, "verbose", "v", false, "Verbose output for diagnostics")
	return cmd
}

// runInspect prints the networks as the daemon sent them: a JSON array,
// or each one through the --format template.
func runInspect(ctx context.Context, deps *Deps, opts *inspectOptions) error {
	return formatter.Inspect(deps.Out, opts.format, opts.networks, func(name string) (json.RawMessage, error) {
		res, err := deps.Client.NetworkInspect(ctx, name, client.NetworkInspectOptions{Verbose: opts.verbose})
		return res.Raw, err
	})
}
