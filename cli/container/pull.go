package container

import (
	"context"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/image"
)

// Values of --pull, as docker's.
const (
	pullAlways  = "always"  // pull before creating
	pullMissing = "missing" // pull when the daemon has no such image
	pullNever   = "never"   // fail when the daemon has no such image
)

func validatePullPolicy(v string) error {
	switch v {
	case pullAlways, pullMissing, pullNever, "":
		return nil
	}
	return fmt.Errorf("invalid pull option: '%s': must be one of %q, %q or %q", v, pullAlways, pullMissing, pullNever)
}

// createContainer creates the container, pulling its image first (--pull
// always) or when the daemon reports it missing (--pull missing, the
// default), and prints the daemon's warnings. Pull progress goes to
// stderr so that stdout carries only the container's ID or output.
func createContainer(ctx context.Context, deps *Deps, req *createRequest) (string, error) {
	// Only a name can be pulled; an image ID or digest alone cannot.
	var named reference.Named
	if ref, err := reference.ParseAnyReference(req.Config.Image); err == nil {
		if n, ok := ref.(reference.Named); ok {
			named = reference.TagNameOnly(n)
		}
	}
	pull := func() error {
		if named == nil {
			_, err := reference.ParseNormalizedNamed(req.Config.Image)
			return err
		}
		out := command.NewProgressOutput(deps.Err)
		if req.QuietPull {
			out = command.ProgressOutput{W: io.Discard}
		}
		return image.PullImage(ctx, deps.Client, image.PullOptions{
			Ref:       named,
			Platform:  req.Platform,
			ConfigDir: deps.ConfigDir,
			Out:       out,
			Warn:      deps.Err,
		})
	}

	if req.Pull == pullAlways {
		if err := pull(); err != nil {
			return "", err
		}
	}
	opts := client.ContainerCreateOptions{
		Name:             req.Name,
		Config:           req.Config,
		HostConfig:       req.HostConfig,
		NetworkingConfig: req.NetworkingConfig,
		Platform:         req.Platform,
	}
	res, err := deps.Client.ContainerCreate(ctx, opts)
	if err != nil && cerrdefs.IsNotFound(err) && named != nil && req.Pull == pullMissing {
		if !req.QuietPull {
			fmt.Fprintf(deps.Err, "Unable to find image '%s' locally\n", reference.FamiliarString(named))
		}
		if err := pull(); err != nil {
			return "", err
		}
		res, err = deps.Client.ContainerCreate(ctx, opts)
	}
	if err != nil {
		return "", err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(deps.Err, "WARNING: %s\n", w)
	}
	return res.ID, nil
}
