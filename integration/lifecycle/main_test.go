// Package lifecycle tests what happens to a container after it was
// started: restart policies (on-failure, always, unless-stopped, Docker's
// back-off, stop/kill/rm of a restarting container, `pouch update
// --restart`), restarts across a daemon restart or crash, and health
// checks (states, log, timeout, start period, image HEALTHCHECK, ps and
// events).
//
// Most tests share one daemon and run in parallel; the tests that stop or
// crash a daemon (daemon_restart_test.go) do it to a daemon of their own,
// so the others never notice.
package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon the parallel tests share.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	// The tests wait on containers, back-offs and health probes, not on
	// the CPU.
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(16), testenv.WithFinalCheck(checkNothingLeft)))
}

// checkNothingLeft checks, once every test has removed its containers,
// that the daemon holds no container record, bundle or shim and that no
// process but pouchd mentions its directory.
func checkNothingLeft(dm *testenv.Daemon) error {
	return testenv.WaitNothingLeft(15*time.Second, 50*time.Millisecond, func() []string {
		problems := testenv.NonEmptyDirs(filepath.Join(dm.Home, "containers"), filepath.Join(dm.ExecRoot, "c"))
		for _, pid := range testenv.ProcessesMentioning(dm.Root) {
			if pid != dm.Pid() {
				problems = append(problems, fmt.Sprintf("process %d %s", pid, cmdline(pid)))
			}
		}
		return problems
	})
}
