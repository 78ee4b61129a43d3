package container

import (
	"context"
	"encoding/json"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type inspectOptions struct {
	format     string
	size       bool
	containers []string
}

func newInspectCommand(deps *Deps) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runInspect(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	flags.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	return cmd
}

func runInspect(ctx context.Context, deps *Deps, opts *inspectOptions) error {
	return formatter.Inspect(deps.Out, opts.format, opts.containers, func(name string) (json.RawMessage, error) {
		res, err := deps.Client.ContainerInspect(ctx, name, client.ContainerInspectOptions{Size: opts.size})
		return res.Raw, err
	})
}
