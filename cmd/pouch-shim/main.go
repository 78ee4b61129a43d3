// Command pouch-shim is the per-container shim: containerd's runc shim v2,
// built from the same containerd module as pouchd so that both speak the same
// task API. pouchd starts one per container with the shim v2 bootstrap
// protocol; it keeps the container running while pouchd is away.
package main

import (
	"context"

	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/manager"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2/task/plugin"
	"github.com/containerd/containerd/v2/pkg/shim"
)

func main() {
	shim.RunShim(context.Background(), manager.NewShimManager("io.containerd.runc.v2"))
}
