package image

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type inspectOptions struct {
	format string
	images []string
}

func newInspectCommand(deps *Deps) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runInspect(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	return cmd
}

func runInspect(ctx context.Context, deps *Deps, opts *inspectOptions) error {
	return formatter.Inspect(deps.Out, opts.format, opts.images, func(name string) (json.RawMessage, error) {
		var raw bytes.Buffer
		_, err := deps.Client.ImageInspect(ctx, name, client.ImageInspectWithRawResponse(&raw))
		return raw.Bytes(), err
	})
}
