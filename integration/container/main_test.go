package container

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares.
var d *testenv.Daemon

// Runtimes registered with --add-runtime that wrap runc and fail on cue,
// to test that a failing start rolls everything back.
const (
	rtFailCreate = "failcreate" // `runc create` fails
	rtFailStart  = "failstart"  // `runc create` works, `runc start` fails
)

func TestMain(m *testing.M) {
	// Most tests wait on containers, not on the CPU.
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(6), testenv.WithSetup(addFailingRuntimes), testenv.WithFinalCheck(checkNothingLeft)))
}

// addFailingRuntimes writes the failing runc wrappers and registers them.
func addFailingRuntimes(daemon *testenv.Daemon) error {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	for name, action := range map[string]string{rtFailCreate: "create", rtFailStart: "start"} {
		path := filepath.Join(daemon.Root, name)
		script := fmt.Sprintf("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = %s ] && { echo 'injected %s failure' >&2; exit 1; }; done\nexec %s \"$@\"\n", action, action, runc)
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			return err
		}
		daemon.ExtraArgs = append(daemon.ExtraArgs, "--add-runtime", name+"="+path)
	}
	return nil
}

// checkNothingLeft checks, once every test has removed its containers,
// that the daemon holds no container, bundle, shim socket, mount, cgroup
// or helper process.
func checkNothingLeft(d *testenv.Daemon) error {
	return testenv.WaitNothingLeft(15*time.Second, 50*time.Millisecond, func() []string {
		problems := testenv.NonEmptyDirs(filepath.Join(d.Home, "containers"), filepath.Join(d.ExecRoot, "c"), filepath.Join(d.ExecRoot, "s"))
		for _, m := range testenv.MountsUnder(d.Root) {
			problems = append(problems, "mount "+m)
		}
		if subs, _ := filepath.Glob("/sys/fs/cgroup/*/" + d.Cgroup + "/*/"); len(subs) > 0 {
			problems = append(problems, fmt.Sprintf("cgroups %v", subs))
		}
		for _, pid := range testenv.ProcessesMentioning(d.Root) {
			if pid != d.Pid() {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				problems = append(problems, fmt.Sprintf("process %d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
			}
		}
		return problems
	})
}
