// Package stats tests a container's resource usage, processes and limits
// against a real pouchd: `pouch stats`, `pouch top`, `pouch update` and
// their API endpoints, on the host's cgroups (v1 or v2), and the real
// docker CLI's stats and top.
package stats

import (
	"os"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	// The tests wait on containers and on one-second samples, not on the CPU.
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(6)))
}
