// Package archive holds the integration tests of copying files to and from
// containers (cp and the archive API), commit, export, import and diff,
// through the pouch CLI, the API and the real docker CLI, against one real
// pouchd. Containers plant the symlink traps of a hostile container; the
// host is checked untouched.
package archive

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

var d *testenv.Daemon

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.parallel"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("4")
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
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if err := checkNothingLeft(daemon); err != nil {
			fmt.Fprintln(os.Stderr, "integration: after all tests:", err)
			code = 1
		}
	}
	if code != 0 {
		lines := strings.Split(daemon.Log(), "\n")
		if len(lines) > 200 {
			lines = lines[len(lines)-200:]
		}
		fmt.Fprintf(os.Stderr, "--- pouchd log (tail) ---\n%s\n", strings.Join(lines, "\n"))
	}
	return code
}

// checkNothingLeft checks, once every test removed its containers, that no
// bundle, temporary root filesystem mount or image view is left.
func checkNothingLeft(d *testenv.Daemon) error {
	var problems []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		problems = nil
		if entries, _ := os.ReadDir(filepath.Join(d.ExecRoot, "c")); len(entries) > 0 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			problems = append(problems, fmt.Sprintf("%s holds %v", filepath.Join(d.ExecRoot, "c"), names))
		}
		if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], d.Root+"/") {
					problems = append(problems, "mount "+f[4])
				}
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
