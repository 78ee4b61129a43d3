package testenv

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// MainOption changes what Main does around a package's tests.
type MainOption func(*mainConfig)

type mainConfig struct {
	parallel   int
	setup      func(*Daemon) error
	finalCheck func(*Daemon) error
}

// WithParallel makes n the default of -test.parallel (an explicit flag
// wins): tests that wait on containers, not on the CPU, run more at once.
func WithParallel(n int) MainOption {
	return func(c *mainConfig) { c.parallel = n }
}

// WithSetup runs setup on the daemon before it starts (to add flags or
// files it needs); an error fails the package.
func WithSetup(setup func(*Daemon) error) MainOption {
	return func(c *mainConfig) { c.setup = setup }
}

// WithFinalCheck runs check once every test of a full run (no -run) has
// passed: what all the tests together must not leave behind. An error
// fails the package.
func WithFinalCheck(check func(*Daemon) error) MainOption {
	return func(c *mainConfig) { c.finalCheck = check }
}

// Main runs a package's tests against one daemon with the test images
// loaded, then cleans up; on a failure it prints the tail of pouchd's log.
// Use from TestMain:
//
//	os.Exit(testenv.Main(m, &d, testenv.WithParallel(6)))
func Main(m *testing.M, d **Daemon, opts ...MainOption) int {
	var cfg mainConfig
	for _, o := range opts {
		o(&cfg)
	}
	flag.Parse()
	if f := flag.Lookup("test.parallel"); cfg.parallel > 0 && f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set(strconv.Itoa(cfg.parallel))
	}
	daemon, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer daemon.Cleanup()
	if cfg.setup != nil {
		if err := cfg.setup(daemon); err != nil {
			fmt.Fprintln(os.Stderr, "integration:", err)
			return 1
		}
	}
	if err := daemon.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	if err := daemon.LoadImages(); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	*d = daemon
	code := m.Run()
	if code == 0 && cfg.finalCheck != nil && flag.Lookup("test.run").Value.String() == "" {
		if err := cfg.finalCheck(daemon); err != nil {
			fmt.Fprintln(os.Stderr, "integration: after all tests:", err)
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- pouchd log (tail) ---\n%s\n", daemon.LogTail(200))
	}
	return code
}

// StartDaemon starts a pouchd of the test's own with the test images
// loaded; configure, unless nil, runs first (flags, environment). When
// the test ends the daemon is cleaned up, after the tail of its log is
// logged if the test failed.
func StartDaemon(t testing.TB, configure func(*Daemon)) *Daemon {
	t.Helper()
	d, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- pouchd log of %s (tail) ---\n%s", d.Root, d.LogTail(80))
		}
		d.Cleanup()
	})
	if configure != nil {
		configure(d)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.LoadImages(); err != nil {
		t.Fatal(err)
	}
	return d
}

// LogTail returns the last lines of pouchd's log.
func (d *Daemon) LogTail(lines int) string {
	parts := strings.Split(d.Log(), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
