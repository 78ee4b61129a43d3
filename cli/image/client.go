// Package image implements the image commands: images, rmi, tag,
// history, load, save, inspect, prune, pull and push, under `pouch image`
// and as top-level shortcuts.
package image

import (
	"context"
	"io"

	"github.com/moby/moby/client"

	"github.com/pouchcontainer/pouch/cli/command"
)

// APIClient is the part of the Engine API the image commands use.
type APIClient interface {
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ImageImport(ctx context.Context, source client.ImageImportSource, ref string, options client.ImageImportOptions) (client.ImageImportResult, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageRemove(ctx context.Context, image string, options client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	ImagePrune(ctx context.Context, options client.ImagePruneOptions) (client.ImagePruneResult, error)
	ImageTag(ctx context.Context, options client.ImageTagOptions) (client.ImageTagResult, error)
	ImageHistory(ctx context.Context, image string, opts ...client.ImageHistoryOption) (client.ImageHistoryResult, error)
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error)
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ImagePush(ctx context.Context, ref string, options client.ImagePushOptions) (client.ImagePushResponse, error)
}

// Deps is what the image commands need from their caller: the streams to
// use, an API client and the directory of the config file holding registry
// credentials. The root command fills Client and ConfigDir in once the
// global flags are parsed.
type Deps struct {
	command.Streams
	Client    APIClient
	ConfigDir string
}
