// Package exec tests exec, attach, TTYs and detach keys against a real
// pouchd: the exec API and its hijacked streams, `pouch exec`, `pouch
// attach`, `run -it` and `start -ai` driven through real pseudo-terminals
// (window size at start and on SIGWINCH, detach keys), signal forwarding,
// and the real docker CLI doing the same.
package exec

import (
	"flag"
	"os"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests wait on containers and terminals, not on the CPU.
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("8")
	}
	os.Exit(testenv.Main(m, &d))
}
