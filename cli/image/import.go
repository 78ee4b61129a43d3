package image

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
)

type importOptions struct {
	source    string
	reference string
	changes   []string
	message   string
	platform  string
}

func newImportCommand(deps *Deps) *cobra.Command {
	var opts importOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  command.RequiresRangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.source = args[0]
			if len(args) > 1 {
				opts.reference = args[1]
			}
			return runImport(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.StringArrayVarP(&opts.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	flags.StringVarP(&opts.message, "message", "m", "", "Set commit message for imported image")
	flags.StringVar(&opts.platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

// runImport sends the tarball (a file, or stdin for "-"; a URL is the
// daemon's to fetch) and prints the new image's ID.
func runImport(ctx context.Context, deps *Deps, opts *importOptions) error {
	api := deps.Client
	var source client.ImageImportSource
	switch {
	case opts.source == "-":
		source = client.ImageImportSource{Source: deps.In, SourceName: "-"}
	case strings.HasPrefix(opts.source, "https://"), strings.HasPrefix(opts.source, "http://"):
		source = client.ImageImportSource{SourceName: opts.source}
	default:
		f, err := os.Open(opts.source)
		if err != nil {
			return err
		}
		defer f.Close()
		source = client.ImageImportSource{Source: f, SourceName: "-"}
	}
	var platform ocispec.Platform
	if opts.platform != "" {
		p, err := platforms.Parse(opts.platform)
		if err != nil {
			return err
		}
		platform = p
	}
	res, err := api.ImageImport(ctx, source, opts.reference, client.ImageImportOptions{
		Message:  opts.message,
		Changes:  opts.changes,
		Platform: platform,
	})
	if err != nil {
		return err
	}
	defer res.Close()
	return command.DisplayProgress(io.Reader(res), command.NewProgressOutput(deps.Out))
}
