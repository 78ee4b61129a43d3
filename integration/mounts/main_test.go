// Package mounts tests a container's mounts against a real pouchd: named
// and anonymous volumes given with -v and --mount, binds, tmpfs mounts,
// --volumes-from and the image's VOLUMEs; the copy of the image's content
// into a new volume; read-only mounts; volumes in use; rm -v and --rm;
// malformed specs; the Mounts of inspect; a daemon restart; the real
// docker CLI; and a container's symlinks never leading a removal out of
// its volume. Each test removes the containers and volumes it made; the
// package checks that none is left.
package mounts

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// d is the daemon every test of the package shares.
var d *testenv.Daemon

func TestMain(m *testing.M) {
	// The tests wait on containers, not on the CPU.
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(8), testenv.WithFinalCheck(checkNothingLeft)))
}

// checkNothingLeft: once every test has cleaned up, no container or
// volume is listed, the volumes root is empty and nothing is mounted
// under the daemon's directories.
func checkNothingLeft(dm *testenv.Daemon) error {
	t := &panicT{}
	return testenv.WaitNothingLeft(10*time.Second, 50*time.Millisecond, func() []string {
		var left []string
		var lr volume.ListResponse
		dm.Do(t, "GET", "/volumes", nil).JSON(t, &lr)
		for _, v := range lr.Volumes {
			left = append(left, "volume "+v.Name)
		}
		var cs []struct {
			ID    string `json:"Id"`
			Names []string
		}
		dm.Do(t, "GET", "/containers/json?all=1", nil).JSON(t, &cs)
		for _, c := range cs {
			left = append(left, fmt.Sprintf("container %s %v", c.ID, c.Names))
		}
		left = append(left, testenv.NonEmptyDirs(filepath.Join(dm.Home, "volumes"), filepath.Join(dm.Home, "containers"))...)
		for _, m := range testenv.MountsUnder(dm.Root) {
			left = append(left, "mount "+m)
		}
		return left
	})
}

// panicT is a testing.TB for helpers used outside a test.
type panicT struct{ testing.TB }

func (*panicT) Helper()                           {}
func (*panicT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (*panicT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
