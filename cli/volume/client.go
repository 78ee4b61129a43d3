// Package volume implements `pouch volume`: create, ls, inspect, rm and
// prune, with docker's flags and output.
package volume

import (
	"context"

	"github.com/moby/moby/client"

	"github.com/pouchcontainer/pouch/cli/command"
)

// APIClient is the part of the Engine API the volume commands use.
type APIClient interface {
	VolumeCreate(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeList(ctx context.Context, options client.VolumeListOptions) (client.VolumeListResult, error)
	VolumeInspect(ctx context.Context, volumeID string, options client.VolumeInspectOptions) (client.VolumeInspectResult, error)
	VolumeRemove(ctx context.Context, volumeID string, options client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
	VolumePrune(ctx context.Context, options client.VolumePruneOptions) (client.VolumePruneResult, error)
}

// Deps is what the volume commands need from their caller: the streams
// to use and an API client, which the root command fills in once the
// global flags are parsed.
type Deps struct {
	command.Streams
	Client APIClient
}
