// Package exec tests exec, attach, TTYs and detach keys against a real
// pouchd: the exec API and its hijacked streams, `pouch exec`, `pouch
// attach`, `run -it` and `start -ai` driven through real pseudo-terminals
// (window size at start and on SIGWINCH, detach keys), signal forwarding,
// and the real docker CLI doing the same.
package exec

import (
	"os"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	// The tests wait on containers and terminals, not on the CPU.
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(8)))
}
