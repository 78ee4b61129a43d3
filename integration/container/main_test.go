package container

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	flag.Parse()
	// Most tests wait on containers, not on the CPU.
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
	runc, err := exec.LookPath("runc")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: runc:", err)
		return 1
	}
	for name, action := range map[string]string{rtFailCreate: "create", rtFailStart: "start"} {
		path := filepath.Join(daemon.Root, name)
		script := fmt.Sprintf("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = %s ] && { echo 'injected %s failure' >&2; exit 1; }; done\nexec %s \"$@\"\n", action, action, runc)
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "integration:", err)
			return 1
		}
		daemon.ExtraArgs = append(daemon.ExtraArgs, "--add-runtime", name+"="+path)
	}
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
