package image

import (
	"context"
	"fmt"
	"io"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/config"
)

type pullOptions struct {
	remote   string
	platform string
	quiet    bool
}

func newPullCommand(deps *Deps) *cobra.Command {
	var opts pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.remote = args[0]
			return runPull(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	flags.StringVar(&opts.platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

// runPull pulls an image, drawing the daemon's progress, and prints the
// normalised reference at the end (only that with -q), as docker does.
func runPull(ctx context.Context, deps *Deps, opts *pullOptions) error {
	named, err := reference.ParseNormalizedNamed(opts.remote)
	if err != nil {
		return err
	}
	if reference.IsNameOnly(named) {
		named = reference.TagNameOnly(named)
		if tagged, ok := named.(reference.Tagged); ok && !opts.quiet {
			fmt.Fprintln(deps.Out, "Using default tag:", tagged.Tag())
		}
	}
	platform, err := ParsePlatform(opts.platform)
	if err != nil {
		return err
	}
	out := command.NewProgressOutput(deps.Out)
	if opts.quiet {
		out = command.ProgressOutput{W: io.Discard}
	}
	err = PullImage(ctx, deps.Client, PullOptions{
		Ref:       named,
		Platform:  platform,
		ConfigDir: deps.ConfigDir,
		Out:       out,
		Warn:      deps.Err,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(deps.Out, named.String())
	return nil
}

// PullClient is the part of the Engine API a pull uses.
type PullClient interface {
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
}

// PullOptions say what PullImage pulls and where its progress goes.
type PullOptions struct {
	Ref       reference.Named   // the image, normalised
	Platform  *ocispec.Platform // nil: the daemon's default
	ConfigDir string            // where the registry credentials are stored
	Out       command.ProgressOutput
	Warn      io.Writer // for warnings about the config file
}

// PullImage asks the daemon to pull opts.Ref with the stored credentials
// for its registry (X-Registry-Auth) and draws the progress it streams.
// It fails on an API error or an error message in the stream.
func PullImage(ctx context.Context, api PullClient, opts PullOptions) error {
	encodedAuth, err := config.LoadOrEmpty(opts.ConfigDir, opts.Warn).EncodedAuthForImage(opts.Ref.String())
	if err != nil {
		return err
	}
	pullOpts := client.ImagePullOptions{RegistryAuth: encodedAuth}
	if opts.Platform != nil {
		pullOpts.Platforms = []ocispec.Platform{*opts.Platform}
	}
	res, err := api.ImagePull(ctx, opts.Ref.String(), pullOpts)
	if err != nil {
		return err
	}
	defer res.Close()
	w := opts.Out
	if w.W == nil {
		w = command.ProgressOutput{W: io.Discard}
	}
	return command.DisplayProgress(res, w)
}

// ParsePlatform parses a --platform value (os[/arch[/variant]]); empty
// means none.
func ParsePlatform(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := platforms.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid platform %q: %w", s, err)
	}
	return &p, nil
}
