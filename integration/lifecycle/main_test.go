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
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon the parallel tests share.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests wait on containers, back-offs and health probes, not on
	// the CPU.
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("16")
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
	if code == 0 {
		// Every test removed its containers: no record, bundle or
		// helper process may be left.
		if err := nothingLeft(daemon); err != nil {
			fmt.Fprintln(os.Stderr, "integration: after all tests:", err)
			code = 1
		}
	}
	if code != 0 {
		lines := strings.Split(daemon.Log(), "\n")
		if len(lines) > 150 {
			lines = lines[len(lines)-150:]
		}
		fmt.Fprintf(os.Stderr, "--- pouchd log (tail) ---\n%s\n", strings.Join(lines, "\n"))
	}
	return code
}

// nothingLeft checks that the daemon holds no container, bundle or shim
// and that no process but pouchd mentions its directory.
func nothingLeft(d *testenv.Daemon) error {
	var problems []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		problems = nil
		for _, dir := range []string{filepath.Join(d.Home, "containers"), filepath.Join(d.ExecRoot, "c")} {
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				problems = append(problems, fmt.Sprintf("%s holds %v", dir, names))
			}
		}
		for _, pid := range processesMentioning(d.Root) {
			if pid != d.Pid() {
				problems = append(problems, fmt.Sprintf("process %d %s", pid, cmdline(pid)))
			}
		}
		if len(problems) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("left behind:\n  %s", strings.Join(problems, "\n  "))
		}
	}
}
