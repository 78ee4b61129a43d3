// Package network tests container networking against a real pouchd with
// real namespaces: the default bridge, published ports, user networks and
// their isolation, the embedded DNS, connect/disconnect, daemon restarts,
// bad input, and that nothing (veth, netns, iptables rule, bridge) is left
// behind. Tests that compare the whole host's network state before and
// after run sequentially (without t.Parallel), so that no other test of
// the package runs meanwhile.
package network

import (
	"fmt"
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
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(6), testenv.WithFinalCheck(checkNoNetworksLeft)))
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
	return testenv.WaitNothingLeft(10*time.Second, 100*time.Millisecond, func() []string {
		var problems []string
		t := &panicT{}
		var nets []networkJSON
		d.Do(t, "GET", "/networks", nil).JSON(t, &nets)
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
		return problems
	})
}

// panicT is a testing.TB for helpers used outside a test.
type panicT struct{ testing.TB }

func (*panicT) Helper()                           {}
func (*panicT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (*panicT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
