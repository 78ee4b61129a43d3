package testenv

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestUniqueName checks that names are unique, short and usable as DNS
// names, whatever the test is called.
func TestUniqueName(t *testing.T) {
	dnsName := regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	seen := map[string]bool{}
	for _, sub := range []string{"Simple", "with spaces/and_UNDERSCORES", strings.Repeat("Long", 30), "--"} {
		t.Run(sub, func(t *testing.T) {
			for range 2 {
				n := UniqueName(t)
				if !dnsName.MatchString(n) || len(n) > 63 {
					t.Errorf("UniqueName = %q: not a DNS name", n)
				}
				if seen[n] {
					t.Errorf("UniqueName = %q twice", n)
				}
				seen[n] = true
			}
		})
	}
}

func TestUnique(t *testing.T) {
	a, b := Unique("img"), Unique("img")
	if a == b || !regexp.MustCompile(`^img-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("Unique: %q, %q", a, b)
	}
}

func TestIsID(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	for s, want := range map[string]bool{id: true, id[:12]: false, strings.ToUpper(id): false, id + "\n": false} {
		if got := IsID(s); got != want {
			t.Errorf("IsID(%q) = %v", s, got)
		}
	}
}

func TestProcesses(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("Alive(self) = false")
	}
	if got := ParentPid(os.Getpid()); got != os.Getppid() {
		t.Errorf("ParentPid(self) = %d, want %d", got, os.Getppid())
	}
	if Alive(-1) || ParentPid(-1) != 0 {
		t.Error("a process that cannot exist is alive or has a parent")
	}
}

func TestWaitNothingLeft(t *testing.T) {
	calls := 0
	err := WaitNothingLeft(0, 0, func() []string {
		calls++
		return []string{"a", "b"}
	})
	if err == nil || err.Error() != "left behind:\n  a\n  b" || calls < 1 {
		t.Errorf("WaitNothingLeft: %v after %d calls", err, calls)
	}
	if err := WaitNothingLeft(0, 0, func() []string { return nil }); err != nil {
		t.Errorf("WaitNothingLeft with nothing left: %v", err)
	}
}

func TestProcessesMentioning(t *testing.T) {
	cmd := exec.Command("sleep", "30.123456")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if got := ProcessesMentioning("30.123456"); len(got) != 1 || got[0] != cmd.Process.Pid {
		t.Errorf("ProcessesMentioning = %v, want [%d]", got, cmd.Process.Pid)
	}
}
