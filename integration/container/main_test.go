package container

import (
	"os"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

var d *testenv.Daemon

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, &d))
}
