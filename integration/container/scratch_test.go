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
	for end := time.Now().Add(30 * time.Minute); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if _, err := os.Stat("/tmp/pouch-hold-stop"); err == nil {
			os.Remove("/tmp/pouch-hold-stop")
			return
		}
	}
}
