package archive

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerCLI: the real docker CLI copies, diffs, commits, exports and
// imports against pouchd.
func TestDockerCLI(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker CLI not installed")
	}
	docker := func(t *testing.T, args ...string) string {
		t.Helper()
		res := d.Docker(t, nil, args...)
		if res.ExitCode != 0 {
			t.Fatalf("docker %s: exit %d\n%s%s", strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
		}
		return res.Stdout
	}
	ctr := runD(t, nil, "mkdir /data && echo from-container > /data/f && ln -s / /trap && touch /ready && sleep 1000")
	dir := t.TempDir()
	docker(t, "cp", ctr+":/data", dir)
	if got := readFile(t, filepath.Join(dir, "data/f")); got != "from-container\n" {
		t.Errorf("docker cp out: %q", got)
	}
	docker(t, "cp", ctr+":/data/f", filepath.Join(dir, "renamed"))
	if got := readFile(t, filepath.Join(dir, "renamed")); got != "from-container\n" {
		t.Errorf("docker cp out to a new name: %q", got)
	}
	docker(t, "cp", ctr+":/trap/etc/passwd", filepath.Join(dir, "passwd"))
	if got := readFile(t, filepath.Join(dir, "passwd")); !strings.HasPrefix(got, imagePasswd) {
		t.Errorf("docker cp through /trap: %q", got)
	}
	writeFile(t, filepath.Join(dir, "in/host-file"), "from-host\n", 0o600)
	docker(t, "cp", filepath.Join(dir, "in"), ctr+":/data/")
	docker(t, "cp", filepath.Join(dir, "in/host-file"), ctr+":/data/renamed-in")
	for p, want := range map[string]string{"/data/in/host-file": "from-host\n", "/data/renamed-in": "from-host\n"} {
		if got, _ := readIn(t, ctr, p); got != want {
			t.Errorf("docker cp in: %s holds %q", p, got)
		}
	}
	res := d.Docker(t, nil, "cp", ctr+":/nope", dir)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Could not find the file /nope in container "+ctr) {
		t.Errorf("docker cp of a missing path: %d %q", res.ExitCode, res.Stderr)
	}
	if out := docker(t, "diff", ctr); !strings.Contains(out, "A /data\n") || !strings.Contains(out, "A /data/in/host-file\n") || strings.Contains(out, "/etc/hosts") {
		t.Errorf("docker diff:\n%s", out)
	}
	repo := unique("docker-commit")
	removeImageOnCleanup(t, repo)
	id := strings.TrimSpace(docker(t, "commit", "-c", `CMD ["cat", "/data/f"]`, "-m", "docker commit", ctr, repo))
	if !imageIDRe.MatchString(id) {
		t.Errorf("docker commit printed %q", id)
	}
	if got := runRm(t, repo); got != "from-container\n" {
		t.Errorf("docker-committed image runs %q", got)
	}
	tarball := filepath.Join(dir, "export.tar")
	docker(t, "export", "-o", tarball, ctr)
	imported := unique("docker-import")
	removeImageOnCleanup(t, imported)
	out := docker(t, "import", "-c", `CMD ["/bin/cat", "/data/f"]`, tarball, imported)
	if !imageIDRe.MatchString(strings.TrimSpace(out)) {
		t.Errorf("docker import printed %q", out)
	}
	if got := runRm(t, imported); got != "from-container\n" {
		t.Errorf("docker-imported image runs %q", got)
	}
	if _, err := os.Stat("/host-file"); err == nil {
		t.Errorf("a file landed on the host's /")
	}
}
