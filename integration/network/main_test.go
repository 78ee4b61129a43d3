// Package network tests container networking against a real pouchd with
// real namespaces: the default bridge, published ports, user networks and
// their isolation, the embedded DNS, connect/disconnect, daemon restarts,
// bad input, and that nothing (veth, netns, iptables rule, bridge) is left
// behind. Tests that compare the whole host's network state before and
// after run sequentially (without t.Parallel), so that no other test of
// the package runs meanwhile.
package network

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares; it runs with a default
// bridge of its own (d.BridgeName, d.BridgeIP).
var d *testenv.Daemon

func TestMain(m *testing.M) {
	flag.Parse()
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
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if err := checkNoNetworksLeft(daemon); err != nil {
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

// checkNoNetworksLeft checks, once every test has cleaned up, that only the
// predefined networks and no container remain, and that no veth is left on
// the daemon's bridge.
func checkNoNetworksLeft(d *testenv.Daemon) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("checking: %v", r)
		}
	}()
	var problems []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		problems = nil
		t := &panicT{}
		r := d.Do(t, "GET", "/networks", nil)
		var nets []networkJSON
		r.JSON(t, &nets)
		for _, n := range nets {
			switch n.Name {
			case "bridge", "host", "none":
			default:
				problems = append(problems, "network "+n.Name)
			}
		}
		var cs []struct {
			ID string `json:"Id"`
		}
		d.Do(t, "GET", "/containers/json?all=1", nil).JSON(t, &cs)
		for _, c := range cs {
			problems = append(problems, "container "+c.ID)
		}
		for _, l := range testenv.CaptureHostNetState().Links {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "veth" && f[2] == d.BridgeName {
				problems = append(problems, "veth "+f[1]+" on "+d.BridgeName)
			}
		}
		if len(problems) == 0 || r.Status != http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(problems) > 0 {
		return fmt.Errorf("left behind:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// panicT is a testing.TB for helpers used outside a test.
type panicT struct{ testing.TB }

func (*panicT) Helper()                           {}
func (*panicT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (*panicT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
