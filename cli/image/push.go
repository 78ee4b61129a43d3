package image

import (
	"context"
	"fmt"
	"io"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/config"
)

type pushOptions struct {
	remote string
	quiet  bool
}

func newPushCommand(deps *Deps) *cobra.Command {
	var opts pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.remote = args[0]
			return runPush(cmd.Context(), deps, &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}

// runPush pushes an image with the stored credentials for its registry
// and draws the daemon's progress; with -q it prints only the reference.
func runPush(ctx context.Context, deps *Deps, opts *pushOptions) error {
	named, err := reference.ParseNormalizedNamed(opts.remote)
	if err != nil {
		return err
	}
	if _, ok := named.(reference.Digested); ok {
		return fmt.Errorf("cannot push a digest reference")
	}
	if reference.IsNameOnly(named) {
		named = reference.TagNameOnly(named)
		if tagged, ok := named.(reference.Tagged); ok && !opts.quiet {
			fmt.Fprintln(deps.Out, "Using default tag:", tagged.Tag())
		}
	}
	encodedAuth, err := config.LoadOrEmpty(deps.ConfigDir, deps.Err).EncodedAuthForImage(named.String())
	if err != nil {
		return err
	}
	res, err := deps.Client.ImagePush(ctx, named.String(), client.ImagePushOptions{RegistryAuth: encodedAuth})
	if err != nil {
		return err
	}
	defer res.Close()
	out := command.NewProgressOutput(deps.Out)
	if opts.quiet {
		out = command.ProgressOutput{W: io.Discard}
	}
	if err := command.DisplayProgress(res, out); err != nil {
		return err
	}
	if opts.quiet {
		fmt.Fprintln(deps.Out, named.String())
	}
	return nil
}
