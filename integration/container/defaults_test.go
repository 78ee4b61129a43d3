package container

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// statusField reads a field of /proc/self/status text.
func statusField(t testing.TB, status, field string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + field + `:\s*(\S+)`).FindStringSubmatch(status)
	if m == nil {
		t.Fatalf("no %s in /proc/self/status:\n%s", field, status)
	}
	return m[1]
}

// hostCapBnd is the bounding set of this (root) process: all a privileged
// container can get here (this machine's root lacks CAP_SYS_RESOURCE).
func hostCapBnd(t testing.TB) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	return statusField(t, string(b), "CapBnd")
}

// TestDefaultsMatchDocker reads, from inside a container run with no
// options, what Docker's defaults would give.
func TestDefaultsMatchDocker(t *testing.T) {
	t.Parallel()
	name := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, name)
	res := d.Pouch(t, nil, "run", "--name", name, "busybox", "sh", "-c", `
		cat /proc/self/status
		echo "--- hostname"; cat /etc/hostname; hostname
		echo "--- hosts"; cat /etc/hosts
		echo "--- resolv"; test -f /etc/resolv.conf && echo resolv-exists
		echo "--- shm"; df -k /dev/shm | tail -1
		grep " /dev/shm " /proc/mounts
		echo "--- masked"
		for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats /proc/timer_stats; do
			printf '%s %s\n' "$f" "$(cat "$f" 2>/dev/null | wc -c)"
		done
		for dir in /proc/acpi /proc/scsi /sys/firmware; do printf '%s %s\n' "$dir" "$(ls -A "$dir" 2>/dev/null | wc -l)"; done
		echo "--- procsys"
		echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo procsys-writable || echo procsys-readonly
		echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable || echo sysrq-readonly
		echo "--- end"
	`)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Combined())
	}
	out := res.Stdout
	id := d.Inspect(t, name).ID

	if got := statusField(t, out, "CapEff"); got != "00000000a80425fb" {
		t.Errorf("CapEff = %s, want Docker's default 00000000a80425fb", got)
	}
	if got := statusField(t, out, "CapBnd"); got != "00000000a80425fb" {
		t.Errorf("CapBnd = %s, want 00000000a80425fb", got)
	}
	if got := statusField(t, out, "Seccomp"); got != "2" {
		t.Errorf("Seccomp = %s, want 2 (filter: Docker's default profile)", got)
	}
	if got := statusField(t, out, "NoNewPrivs"); got != "0" {
		t.Errorf("NoNewPrivs = %s, want 0 by default", got)
	}
	section := func(name string) string {
		_, after, ok := strings.Cut(out, "--- "+name+"\n")
		if !ok {
			t.Fatalf("no section %s in:\n%s", name, out)
		}
		before, _, _ := strings.Cut(after, "\n--- ")
		return before
	}
	if got := strings.Fields(section("hostname")); len(got) != 2 || got[0] != id[:12] || got[1] != id[:12] {
		t.Errorf("/etc/hostname and hostname = %v, want the first 12 of the ID %s", got, id[:12])
	}
	if hosts := section("hosts"); !regexp.MustCompile(`(?m)^127\.0\.0\.1\s+localhost`).MatchString(hosts) {
		t.Errorf("/etc/hosts has no localhost line:\n%s", hosts)
	}
	if !strings.Contains(section("resolv"), "resolv-exists") {
		t.Errorf("/etc/resolv.conf is missing")
	}
	shm := section("shm")
	if f := strings.Fields(shm); len(f) < 2 || f[1] != "65536" {
		t.Errorf("/dev/shm is not 64M (65536 1K-blocks):\n%s", shm)
	}
	if !strings.Contains(shm, " /dev/shm tmpfs ") {
		t.Errorf("/dev/shm is not a tmpfs:\n%s", shm)
	}
	for _, line := range strings.Split(strings.TrimSpace(section("masked")), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || f[1] != "0" {
			t.Errorf("masked path readable: %q", line)
		}
	}
	if ps := section("procsys"); !strings.Contains(ps, "procsys-readonly") || !strings.Contains(ps, "sysrq-readonly") {
		t.Errorf("/proc/sys or /proc/sysrq-trigger writable:\n%s", ps)
	}
	// What the masking hides has content on the host.
	if b, err := os.ReadFile("/proc/keys"); err == nil && len(b) == 0 {
		t.Log("host /proc/keys is empty: masking not proven for it")
	}
}

func TestSecurityOptions(t *testing.T) {
	t.Parallel()
	t.Run("no-new-privileges", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--security-opt", "no-new-privileges"}, "cat /proc/self/status")
		if got := statusField(t, out, "NoNewPrivs"); got != "1" {
			t.Errorf("NoNewPrivs = %s, want 1", got)
		}
	})
	t.Run("no-new-privileges=true", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--security-opt", "no-new-privileges=true"}, "cat /proc/self/status")
		if got := statusField(t, out, "NoNewPrivs"); got != "1" {
			t.Errorf("NoNewPrivs = %s, want 1", got)
		}
	})
	t.Run("seccomp=unconfined", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--security-opt", "seccomp=unconfined"}, "cat /proc/self/status")
		if got := statusField(t, out, "Seccomp"); got != "0" {
			t.Errorf("Seccomp = %s, want 0", got)
		}
	})
	t.Run("seccomp=profile", func(t *testing.T) {
		t.Parallel()
		// A profile that refuses mkdir with EPERM and allows the rest.
		profile := t.TempDir() + "/profile.json"
		if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		out := d.Sh(t, []string{"--security-opt", "seccomp=" + profile}, "grep Seccomp: /proc/self/status; mkdir /tmp/x 2>/dev/null && echo mkdir-ok || echo mkdir-refused")
		if !strings.Contains(out, "mkdir-refused") || statusField(t, out, "Seccomp") != "2" {
			t.Errorf("custom seccomp profile not applied:\n%s", out)
		}
	})
	t.Run("privileged", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--privileged"}, "cat /proc/self/status; echo 1 > /proc/sys/kernel/domainname && echo procsys-writable; wc -c < /proc/keys")
		if got, want := statusField(t, out, "CapEff"), hostCapBnd(t); got != want {
			t.Errorf("privileged CapEff = %s, want every capability root has here (%s)", got, want)
		}
		if got := statusField(t, out, "Seccomp"); got != "0" {
			t.Errorf("privileged Seccomp = %s, want 0", got)
		}
		if !strings.Contains(out, "procsys-writable") {
			t.Errorf("privileged: /proc/sys read-only:\n%s", out)
		}
	})
	t.Run("cap-add-drop", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN", "--cap-drop", "cap_kill"}, "cat /proc/self/status")
		// Default a80425fb + NET_ADMIN (bit 12) - CHOWN (bit 0) - KILL (bit 5).
		if got := statusField(t, out, "CapEff"); got != "00000000a80435da" {
			t.Errorf("CapEff = %s, want 00000000a80435da", got)
		}
	})
	t.Run("cap-drop-all", func(t *testing.T) {
		t.Parallel()
		out := d.Sh(t, []string{"--cap-drop", "ALL", "--cap-add", "SETUID"}, "cat /proc/self/status")
		if got := statusField(t, out, "CapEff"); got != "0000000000000080" {
			t.Errorf("CapEff = %s, want 0000000000000080 (SETUID only)", got)
		}
	})
	t.Run("bad-cap", func(t *testing.T) {
		t.Parallel()
		res := d.RunRm(t, "--cap-add", "NOT_A_CAP", "busybox", "true")
		if res.ExitCode != 125 {
			t.Errorf("unknown capability: exit %d (%s), want 125", res.ExitCode, res.Combined())
		}
	})
}

// The process environment is Docker's: HOSTNAME, a default PATH, the
// image's variables, and the user's on top.
func TestProcessEnvironment(t *testing.T) {
	out := d.RunRm(t, "-e", "FOO=bar", "--hostname", "envhost", "busybox", "env")
	for _, want := range []string{"HOSTNAME=envhost", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "FOO=bar", "HOME=/root"} {
		if !strings.Contains(out.Stdout, want+"\n") {
			t.Errorf("env lacks %s:\n%s", want, out.Stdout)
		}
	}
}
