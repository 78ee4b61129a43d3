package container

import (
	"os"
	"testing"
	"time"
)

func TestScratchHold(t *testing.T) {
	if os.Getenv("POUCH_HOLD") == "" {
		t.Skip()
	}
	os.WriteFile("/tmp/pouch-hold-sock", []byte(d.Socket+"\n"+d.Root+"\n"+d.Cgroup+"\n"), 0o644)
	time.Sleep(20 * time.Minute)
}
