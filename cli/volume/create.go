package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type createOptions struct {
	name       string
	driver     string
	driverOpts []string
	labels     []string
}

func newCreateCommand(deps *Deps) *cobra.Command {
	var opts createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if opts.name != "" {
					return errors.New("conflicting options: either specify --name or provide positional arg, not both")
				}
				opts.name = args[0]
			}
			return runCreate(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.driver, "driver", "d", "local", "Specify volume driver name")
	flags.StringVar(&opts.name, "name", "", "Specify volume name")
	_ = flags.MarkHidden("name")
	flags.StringArrayVarP(&opts.driverOpts, "opt", "o", nil, "Set driver specific options")
	flags.StringArrayVar(&opts.labels, "label", nil, "Set metadata for a volume")
	return cmd
}

// runCreate creates the volume and prints its name (the generated one for
// an anonymous volume).
func runCreate(ctx context.Context, deps *Deps, opts *createOptions) error {
	req, err := opts.request()
	if err != nil {
		return err
	}
	res, err := deps.Client.VolumeCreate(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(deps.Out, res.Volume.Name)
	return nil
}

// request builds the API request as docker does: options and labels are
// maps, empty when not given.
func (o *createOptions) request() (client.VolumeCreateOptions, error) {
	driverOpts := make(map[string]string, len(o.driverOpts))
	for _, kv := range o.driverOpts {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return client.VolumeCreateOptions{}, fmt.Errorf("invalid value %q for --opt: expected key=value", kv)
		}
		driverOpts[k] = v
	}
	labels := make(map[string]string, len(o.labels))
	for _, l := range o.labels {
		k, v, _ := strings.Cut(l, "=")
		k = strings.TrimSpace(k)
		if k == "" {
			return client.VolumeCreateOptions{}, fmt.Errorf("invalid label '%s': empty name", l)
		}
		if strings.IndexFunc(k, unicode.IsSpace) >= 0 {
			return client.VolumeCreateOptions{}, fmt.Errorf("label '%s' contains whitespaces", k)
		}
		labels[k] = v
	}
	return client.VolumeCreateOptions{Name: o.name, Driver: o.driver, DriverOpts: driverOpts, Labels: labels}, nil
}
