// Package archive holds the integration tests of copying files to and from
// containers (cp and the archive API), commit, export, import and diff,
// through the pouch CLI, the API and the real docker CLI, against one real
// pouchd. Containers plant the symlink traps of a hostile container; the
// host is checked untouched.
package archive

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

var d *testenv.Daemon

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &d, testenv.WithParallel(4), testenv.WithFinalCheck(checkNothingLeft)))
}

// checkNothingLeft checks, once every test removed its containers, that no
// bundle, temporary root filesystem mount or image view is left.
func checkNothingLeft(d *testenv.Daemon) error {
	return testenv.WaitNothingLeft(15*time.Second, 100*time.Millisecond, func() []string {
		problems := testenv.NonEmptyDirs(filepath.Join(d.ExecRoot, "c"))
		for _, m := range testenv.MountsUnder(d.Root) {
			problems = append(problems, "mount "+m)
		}
		return problems
	})
}
