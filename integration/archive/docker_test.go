package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

// TestDockerCLI: the real docker CLI copies, diffs, commits, exports and
// imports against pouchd.
func TestDockerCLI(t *testing.T) {
	t.Parallel()
	testenv.NeedDocker(t)
	ctr := runD(t, nil, "mkdir /data && echo from-container > /data/f && ln -s / /trap && touch /ready && sleep 1000")
	dir := t.TempDir()
	d.DockerOK(t, "cp", ctr+":/data", dir)
	if got := readFile(t, filepath.Join(dir, "data/f")); got != "from-container\n" {
		t.Errorf("docker cp out: %q", got)
	}
	d.DockerOK(t, "cp", ctr+":/data/f", filepath.Join(dir, "renamed"))
	if got := readFile(t, filepath.Join(dir, "renamed")); got != "from-container\n" {
		t.Errorf("docker cp out to a new name: %q", got)
	}
	d.DockerOK(t, "cp", ctr+":/trap/etc/passwd", filepath.Join(dir, "passwd"))
	if got := readFile(t, filepath.Join(dir, "passwd")); !strings.HasPrefix(got, imagePasswd) {
		t.Errorf("docker cp through /trap: %q", got)
	}
	writeFile(t, filepath.Join(dir, "in/host-file"), "from-host\n", 0o600)
	d.DockerOK(t, "cp", filepath.Join(dir, "in"), ctr+":/data/")
	d.DockerOK(t, "cp", filepath.Join(dir, "in/host-file"), ctr+":/data/renamed-in")
	for p, want := range map[string]string{"/data/in/host-file": "from-host\n", "/data/renamed-in": "from-host\n"} {
		if got, _ := readIn(t, ctr, p); got != want {
			t.Errorf("docker cp in: %s holds %q", p, got)
		}
	}
	res := d.Docker(t, nil, "cp", ctr+":/nope", dir)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Could not find the file /nope in container "+ctr) {
		t.Errorf("docker cp of a missing path: %d %q", res.ExitCode, res.Stderr)
	}
	if out := d.DockerOK(t, "diff", ctr); !strings.Contains(out, "A /data\n") || !strings.Contains(out, "A /data/in/host-file\n") || strings.Contains(out, "/etc/hosts") {
		t.Errorf("docker diff:\n%s", out)
	}
	repo := testenv.Unique("docker-commit")
	removeImageOnCleanup(t, repo)
	id := strings.TrimSpace(d.DockerOK(t, "commit", "-c", `CMD ["cat", "/data/f"]`, "-m", "docker commit", ctr, repo))
	if !imageIDRe.MatchString(id) {
		t.Errorf("docker commit printed %q", id)
	}
	if got := runRm(t, repo); got != "from-container\n" {
		t.Errorf("docker-committed image runs %q", got)
	}
	tarball := filepath.Join(dir, "export.tar")
	d.DockerOK(t, "export", "-o", tarball, ctr)
	imported := testenv.Unique("docker-import")
	removeImageOnCleanup(t, imported)
	out := d.DockerOK(t, "import", "-c", `CMD ["/bin/cat", "/data/f"]`, tarball, imported)
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
