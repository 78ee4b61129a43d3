// Package system implements the commands about the daemon as a whole and
// the ones spanning object types: version, info and inspect.
package system

import (
	"context"

	"github.com/moby/moby/client"

	"github.com/pouchcontainer/pouch/cli/command"
)

// APIClient is the part of the Engine API the system commands use.
type APIClient interface {
	ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	ContainerInspect(ctx context.Context, container string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
	// ClientVersion is the API version in use, after negotiation.
	ClientVersion() string
}

// BuildInfo describes the pouch binary itself.
type BuildInfo struct {
	Version   string
	GitCommit string
	BuildTime string
}

// Deps is what the system commands need from their caller. The root
// command fills Client in once the global flags are parsed.
type Deps struct {
	command.Streams
	Client APIClient
	Build  BuildInfo
	Debug  bool
}
