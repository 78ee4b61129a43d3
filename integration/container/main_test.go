package container

import (
	"flag"
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
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		// Every test removed its containers: nothing may be left.
		if err := checkNothingLeft(daemon); err != nil {
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

// checkNothingLeft checks, once every test has removed its containers,
// that the daemon holds no container, bundle, shim socket, mount, cgroup
// or helper process.
func checkNothingLeft(d *testenv.Daemon) error {
	var problems []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		problems = nil
		for _, dir := range []string{filepath.Join(d.Home, "containers"), filepath.Join(d.ExecRoot, "c"), filepath.Join(d.ExecRoot, "s")} {
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				problems = append(problems, fmt.Sprintf("%s holds %v", dir, names))
			}
		}
		if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], d.Root+"/") {
					problems = append(problems, "mount "+f[4])
				}
			}
		}
		if subs, _ := filepath.Glob("/sys/fs/cgroup/*/" + d.Cgroup + "/*/"); len(subs) > 0 {
			problems = append(problems, fmt.Sprintf("cgroups %v", subs))
		}
		for _, pid := range processesMentioning(d.Root) {
			if pid != d.Pid() {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				problems = append(problems, fmt.Sprintf("process %d %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
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
