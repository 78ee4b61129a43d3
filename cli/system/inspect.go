package system

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

type inspectOptions struct {
	format     string
	objectType string
	size       bool
	names      []string
}

func newInspectCommand(deps *Deps) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "Return low-level information on Pouch objects",
		Args:  command.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runInspect(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.format, "format", "f", "", "Format output using a custom template")
	flags.StringVar(&opts.objectType, "type", "", "Only inspect objects of the given type (container, image)")
	flags.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes if the type is container")
	return cmd
}

// runInspect looks each name up as a container, then as an image, unless
// --type narrows the search.
func runInspect(ctx context.Context, deps *Deps, opts *inspectOptions) error {
	var lookups []func(string) (json.RawMessage, error)
	container := func(name string) (json.RawMessage, error) {
		res, err := deps.Client.ContainerInspect(ctx, name, client.ContainerInspectOptions{Size: opts.size})
		return res.Raw, err
	}
	image := func(name string) (json.RawMessage, error) {
		var raw bytes.Buffer
		_, err := deps.Client.ImageInspect(ctx, name, client.ImageInspectWithRawResponse(&raw))
		return raw.Bytes(), err
	}
	switch opts.objectType {
	case "":
		lookups = append(lookups, container, image)
	case "container":
		lookups = append(lookups, container)
	case "image":
		lookups = append(lookups, image)
	default:
		return fmt.Errorf("%q is not a valid value for --type", opts.objectType)
	}

	return formatter.Inspect(deps.Out, opts.format, opts.names, func(name string) (json.RawMessage, error) {
		for _, lookup := range lookups {
			raw, err := lookup(name)
			if err == nil {
				return raw, nil
			}
			if !cerrdefs.IsNotFound(err) {
				return nil, err
			}
		}
		if opts.objectType != "" {
			return nil, fmt.Errorf("Error: No such %s: %s", opts.objectType, name)
		}
		return nil, fmt.Errorf("Error: No such object: %s", name)
	})
}
