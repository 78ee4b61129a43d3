package image

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
	"github.com/pouchcontainer/pouch/internal/testimage"
)

// cliStep is one CLI invocation and what its result must satisfy.
type cliStep struct {
	args  []string
	stdin []byte
	code  int      // expected exit code
	has   []string // substrings stdout+stderr must hold
	hasnt []string // substrings they must not hold
	check func(t *testing.T, r testenv.Result)
}

func runSteps(t *testing.T, run func(t testing.TB, stdin []byte, args ...string) testenv.Result, steps []cliStep) {
	t.Helper()
	for _, s := range steps {
		r := run(t, s.stdin, s.args...)
		out := r.Combined()
		if r.ExitCode != s.code {
			t.Errorf("%v: exit %d, want %d\n%s", s.args, r.ExitCode, s.code, out)
			continue
		}
		for _, h := range s.has {
			if !strings.Contains(out, h) {
				t.Errorf("%v: output lacks %q:\n%s", s.args, h, out)
			}
		}
		for _, h := range s.hasnt {
			if strings.Contains(out, h) {
				t.Errorf("%v: output holds %q:\n%s", s.args, h, out)
			}
		}
		if s.check != nil {
			s.check(t, r)
		}
	}
}

func pouchCLI(t *testing.T) func(t testing.TB, stdin []byte, args ...string) testenv.Result {
	t.Helper()
	if _, err := os.Stat(filepath.Join(d.BinDir, "pouch")); err != nil {
		t.Skip("pouch CLI not built")
	}
	return func(t testing.TB, stdin []byte, args ...string) testenv.Result {
		t.Helper()
		var in *bytes.Reader
		if stdin != nil {
			in = bytes.NewReader(stdin)
			return d.Pouch(t, in, args...)
		}
		return d.Pouch(t, nil, args...)
	}
}

func lines(s string) []string {
	return strings.Split(strings.TrimSpace(s), "\n")
}

func TestCLIImageVerbs(t *testing.T) {
	pouch := pouchCLI(t)
	repo := testenv.Unique("cli")
	dir := t.TempDir()

	img := newImage(t, repo+":v1")
	id := imageID(t, img)
	short := strings.TrimPrefix(id, "sha256:")[:12]
	dockerFile := filepath.Join(dir, "docker.tar")
	if err := testimage.WriteFile(dockerFile, testimage.FormatDocker, img); err != nil {
		t.Fatal(err)
	}
	oci := newImage(t, repo+"/oci:v1")
	ociID := imageID(t, oci)
	removeOnCleanup(t, id, ociID)
	savedFile := filepath.Join(dir, "saved.tar")
	garbage := filepath.Join(dir, "garbage.tar")
	if err := os.WriteFile(garbage, []byte("this is not an image archive"), 0o600); err != nil {
		t.Fatal(err)
	}

	runSteps(t, pouch, []cliStep{
		{args: []string{"load", "-i", dockerFile}, has: []string{"Loaded image: " + repo + ":v1"}},
		{args: []string{"load"}, stdin: archiveOf(t, testimage.FormatOCI, oci), has: []string{"Loaded image: " + repo + "/oci:v1"}},
		{args: []string{"load", "-i", garbage}, code: 1, has: []string{"invalid image archive"}},
		{args: []string{"load", "-i", filepath.Join(dir, "missing.tar")}, code: 1, has: []string{"missing.tar"}},

		{args: []string{"images", "-q"}, check: func(t *testing.T, r testenv.Result) {
			if !contains(lines(r.Stdout), short) {
				t.Errorf("images -q lacks %s:\n%s", short, r.Stdout)
			}
		}},
		{args: []string{"images", "-q", "--no-trunc"}, check: func(t *testing.T, r testenv.Result) {
			if !contains(lines(r.Stdout), id) {
				t.Errorf("images -q --no-trunc lacks %s:\n%s", id, r.Stdout)
			}
		}},
		{args: []string{"images", "--digests", repo}, check: func(t *testing.T, r testenv.Result) {
			l := lines(r.Stdout)
			if len(l) != 2 || !strings.Contains(l[0], "DIGEST") || !strings.Contains(l[1], "sha256:") ||
				!strings.HasPrefix(l[1], repo+" ") || !strings.Contains(l[1], short) {
				t.Errorf("images --digests %s:\n%s", repo, r.Stdout)
			}
		}},
		{args: []string{"images", "-f", "reference=" + repo + "*", "--format", "{{.Repository}}:{{.Tag}}"}, check: func(t *testing.T, r testenv.Result) {
			// "*" does not cross a "/", as in Docker.
			if got := lines(r.Stdout); !sameStrings(got, []string{repo + ":v1"}) {
				t.Errorf("images -f reference=%s*: %q", repo, got)
			}
		}},
		{args: []string{"images", "-f", "reference=" + repo, "-f", "reference=" + repo + "/*:v1", "--format", "{{.Repository}}:{{.Tag}}"}, check: func(t *testing.T, r testenv.Result) {
			if got := lines(r.Stdout); !sameStrings(got, []string{repo + ":v1", repo + "/oci:v1"}) {
				t.Errorf("images -f reference=%s -f reference=%s/*:v1: %q", repo, repo, got)
			}
		}},

		{args: []string{"tag", repo + ":v1", repo + ":v2"}},
		{args: []string{"tag", repo + ":v1", "Bad Name"}, code: 1, has: []string{"invalid reference format"}},
		{args: []string{"images", "--no-trunc", "-f", "reference=" + repo}, has: []string{"v1", "v2", id}},
		{args: []string{"image", "inspect", repo + ":v2"}, check: func(t *testing.T, r testenv.Result) {
			var got []inspectResp
			if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || len(got) != 1 || got[0].ID != id || len(got[0].RootFS.Layers) != 3 {
				t.Errorf("image inspect: %v %+v", err, got)
			}
		}},
		{args: []string{"image", "inspect", repo + ":nosuch"}, code: 1, has: []string{"No such image", repo + ":nosuch"}},
		{args: []string{"history", repo + ":v1"}, check: func(t *testing.T, r testenv.Result) {
			l := lines(r.Stdout)
			if len(l) != 4 || !strings.Contains(l[0], "CREATED BY") || !strings.HasPrefix(l[1], short) || !strings.Contains(l[1], "COPY marker") {
				t.Errorf("history:\n%s", r.Stdout)
			}
		}},

		{args: []string{"save", "-o", savedFile, repo + ":v1"}, check: func(t *testing.T, r testenv.Result) {
			data, err := os.ReadFile(savedFile)
			if err != nil {
				t.Fatal(err)
			}
			var m []testimage.DockerManifest
			if err := json.Unmarshal(tarFiles(t, data)["manifest.json"], &m); err != nil || len(m) != 1 || !sameStrings(m[0].RepoTags, []string{repo + ":v1"}) {
				t.Errorf("saved manifest.json: %v %+v", err, m)
			}
		}},
		{args: []string{"save", "-o", filepath.Join(dir, "nosuch.tar"), repo + ":nosuch"}, code: 1, has: []string{"No such image"}, check: func(t *testing.T, r testenv.Result) {
			if _, err := os.Stat(filepath.Join(dir, "nosuch.tar")); err == nil {
				t.Errorf("save of an unknown image left a file")
			}
		}},

		// Moving the oci image's only name away leaves it dangling.
		{args: []string{"tag", repo + ":v1", repo + "/oci:v1"}},
		{args: []string{"images", "-q", "--no-trunc", "-f", "dangling=true"}, check: func(t *testing.T, r testenv.Result) {
			l := lines(r.Stdout)
			if !contains(l, ociID) || contains(l, id) {
				t.Errorf("images -f dangling=true:\n%s", r.Stdout)
			}
		}},
		{args: []string{"images", "-q", "--no-trunc", "-f", "dangling=false"}, check: func(t *testing.T, r testenv.Result) {
			l := lines(r.Stdout)
			if contains(l, ociID) || !contains(l, id) {
				t.Errorf("images -f dangling=false:\n%s", r.Stdout)
			}
		}},
		{args: []string{"images", "-f", "dangling=maybe"}, code: 1, has: []string{"dangling"}},
		{args: []string{"image", "prune", "-f"}, has: []string{"Deleted Images:", "deleted: " + ociID, "Total reclaimed space:"}, hasnt: []string{id}},

		{args: []string{"rmi", repo + ":v2"}, has: []string{"Untagged: " + repo + ":v2"}, hasnt: []string{"Deleted"}},
		{args: []string{"rmi", short}, code: 1, has: []string{"must be forced"}},
		{args: []string{"rmi", "-f", short}, has: []string{"Untagged: " + repo + ":v1", "Untagged: " + repo + "/oci:v1", "Deleted: " + id}},
		{args: []string{"rmi", repo + ":v1"}, code: 1, has: []string{"No such image"}},
		{args: []string{"load", "-i", savedFile}, has: []string{"Loaded image: " + repo + ":v1"}},
		{args: []string{"images", "-q", "--no-trunc", repo + ":v1"}, check: func(t *testing.T, r testenv.Result) {
			if strings.TrimSpace(r.Stdout) != id {
				t.Errorf("re-loaded image: %q, want %s", r.Stdout, id)
			}
		}},
	})
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}

// The real docker CLI loads, lists, inspects, saves and removes images.
func TestDockerCLIImages(t *testing.T) {
	testenv.NeedDocker(t)
	docker := func(t testing.TB, stdin []byte, args ...string) testenv.Result {
		t.Helper()
		if stdin != nil {
			return d.Docker(t, bytes.NewReader(stdin), args...)
		}
		return d.Docker(t, nil, args...)
	}
	repo := testenv.Unique("docker")
	img := newImage(t, repo+":v1")
	id := imageID(t, img)
	removeOnCleanup(t, id)
	dir := t.TempDir()
	file := filepath.Join(dir, "in.tar")
	if err := testimage.WriteFile(file, testimage.FormatDocker, img); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "saved.tar")
	runSteps(t, docker, []cliStep{
		{args: []string{"load", "-i", file}, has: []string{"Loaded image: " + repo + ":v1"}},
		{args: []string{"images", "--no-trunc", "-q", repo}, check: func(t *testing.T, r testenv.Result) {
			if strings.TrimSpace(r.Stdout) != id {
				t.Errorf("docker images -q: %q", r.Stdout)
			}
		}},
		{args: []string{"images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=" + repo}, check: func(t *testing.T, r testenv.Result) {
			if strings.TrimSpace(r.Stdout) != repo+":v1" {
				t.Errorf("docker images --filter reference: %q", r.Stdout)
			}
		}},
		{args: []string{"image", "inspect", "--format", "{{.Id}} {{len .RootFS.Layers}} {{.Os}}", repo + ":v1"}, has: []string{id + " 3 linux"}},
		{args: []string{"tag", repo + ":v1", repo + ":v2"}},
		{args: []string{"history", "-q", repo + ":v2"}},
		{args: []string{"save", "-o", saved, repo + ":v1"}},
		{args: []string{"rmi", repo + ":v2"}, has: []string{"Untagged: " + repo + ":v2"}},
		{args: []string{"rmi", repo + ":v1"}, has: []string{"Deleted: " + id}},
		{args: []string{"load", "-i", saved}, has: []string{"Loaded image: " + repo + ":v1"}},
		{args: []string{"image", "inspect", "--format", "{{.Id}}", repo + ":v1"}, has: []string{id}},
		{args: []string{"image", "prune", "-f"}},
		{args: []string{"image", "inspect", repo + ":nosuch"}, code: 1, has: []string{"No such image"}},
	})
}
