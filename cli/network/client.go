// Package network implements `pouch network`: create, ls, inspect, rm,
// prune, connect and disconnect, with docker's flags and output.
package network

import (
	"context"

	"github.com/moby/moby/client"

	"github.com/pouchcontainer/pouch/cli/command"
)

// APIClient is the part of the Engine API the network commands use.
type APIClient interface {
	NetworkCreate(ctx context.Context, name string, options client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	NetworkList(ctx context.Context, options client.NetworkListOptions) (client.NetworkListResult, error)
	NetworkInspect(ctx context.Context, network string, options client.NetworkInspectOptions) (client.NetworkInspectResult, error)
	NetworkRemove(ctx context.Context, network string, options client.NetworkRemoveOptions) (client.NetworkRemoveResult, error)
	NetworkPrune(ctx context.Context, options client.NetworkPruneOptions) (client.NetworkPruneResult, error)
	NetworkConnect(ctx context.Context, network string, options client.NetworkConnectOptions) (client.NetworkConnectResult, error)
	NetworkDisconnect(ctx context.Context, network string, options client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error)
}

// Deps is what the network commands need from their caller: the streams
// to use and an API client, which the root command fills in once the
// global flags are parsed.
type Deps struct {
	command.Streams
	Client APIClient
}
