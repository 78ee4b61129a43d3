// Package stats tests a container's resource usage, processes and limits
// against a real pouchd: `pouch stats`, `pouch top`, `pouch update` and
// their API endpoints, on the host's cgroups (v1 or v2), and the real
// docker CLI's stats and top.
package stats

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests wait on containers and on one-second samples, not on the CPU.
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("6")
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	daemon, err := testenv.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer daemon.Cleanup()
	if err := daemon.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if err := daemon.LoadImages(); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	d = daemon
	code := m.Run()
	if code != 0 {
		lines := strings.Split(daemon.Log(), "\n")
		if len(lines) > 150 {
			lines = lines[len(lines)-150:]
		}
		fmt.Fprintf(os.Stderr, "--- pouchd log (tail) ---\n%s\n", strings.Join(lines, "\n"))
	}
	return code
}
