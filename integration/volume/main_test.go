// Package volume tests volumes against a real pouchd: Docker's /volumes
// API (create, list with filters, inspect, remove, prune), bad input, the
// local driver's options (tmpfs, bind), volumes surviving a restart, the
// pouch and docker CLIs, and volumes used by containers (in use, mounted
// while running). Each test cleans up the volumes it made; the package
// checks that none is left, nor anything mounted under the volumes root.
package volume

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(4), testenv.WithFinalCheck(checkNothingLeft)))
}

// checkNothingLeft: once every test has cleaned up, no volume is listed,
// the volumes root is empty and nothing is mounted below it.
func checkNothingLeft(d *testenv.Daemon) error {
	t := &panicT{}
	var lr volume.ListResponse
	d.Do(t, "GET", "/volumes", nil).JSON(t, &lr)
	var left []string
	for _, v := range lr.Volumes {
		left = append(left, "volume "+v.Name)
	}
	root := filepath.Join(d.Home, "volumes")
	left = append(left, testenv.NonEmptyDirs(root)...)
	for _, m := range testenv.MountsUnder(root) {
		left = append(left, "mount "+m)
	}
	if len(left) > 0 {
		return fmt.Errorf("left behind: %v", left)
	}
	return nil
}

// panicT is a testing.TB for helpers used outside a test.
type panicT struct{ testing.TB }

func (*panicT) Helper()                           {}
func (*panicT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (*panicT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
