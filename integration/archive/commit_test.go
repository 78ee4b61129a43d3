package archive

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

type imageInspect struct {
	ID       string `json:"Id"`
	RepoTags []string
	Author   string
	Comment  string
	Config   struct {
		Cmd          []string
		Entrypoint   []string
		Env          []string
		Labels       map[string]string
		ExposedPorts map[string]struct{}
		Volumes      map[string]struct{}
		WorkingDir   string
		User         string
		StopSignal   string
	}
	RootFS struct{ Layers []string }
}

func inspectImage(t testing.TB, ref string) imageInspect {
	t.Helper()
	r := d.Do(t, "GET", "/images/"+url.PathEscape(ref)+"/json", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("inspect image %s: %d %s", ref, r.Status, r.Body)
	}
	var out imageInspect
	r.JSON(t, &out)
	return out
}

func containerStatus(t testing.TB, ctr string) string {
	t.Helper()
	r := d.Do(t, "GET", "/containers/"+ctr+"/json", nil)
	var c struct{ State struct{ Status string } }
	r.JSON(t, &c)
	return c.State.Status
}

// TestCommit commits a running container with changes: the image runs
// the file the container wrote, carries the changes and shows the commit
// in its history; the container keeps running.
func TestCommit(t *testing.T) {
	t.Parallel()
	ctr := runD(t, nil, "echo committed > /file; rm /bin/ls; touch /ready; sleep 1000")
	repo := testenv.Unique("committed")
	removeImageOnCleanup(t, repo+":v1")
	out := d.PouchOK(t, "commit", "-m", "my commit message", "-a", "Tester <t@example.com>",
		"-c", `CMD ["cat", "/file"]`, "-c", "ENV FOO=bar", "-c", "LABEL purpose=test", "-c", "EXPOSE 8080",
		"-c", "WORKDIR /tmp", "-c", "USER nobody", "-c", "VOLUME /vol", "-c", "STOPSIGNAL SIGINT",
		ctr, repo+":v1")
	id := strings.TrimSpace(out)
	if !imageIDRe.MatchString(id) {
		t.Fatalf("commit printed %q", out)
	}
	if st := containerStatus(t, ctr); st != "running" {
		t.Errorf("container %s after a commit", st)
	}
	if got := runRm(t, repo+":v1"); got != "committed\n" {
		t.Errorf("the new image runs: %q", got)
	}
	if got := runRm(t, repo+":v1", "sh", "-c", `echo $FOO; pwd; id -u; ls /bin/ls 2>&1 || echo gone`); got != "bar\n/tmp\n65534\nls: /bin/ls: No such file or directory\ngone\n" {
		t.Errorf("configuration and deletion: %q", got)
	}
	img := inspectImage(t, repo+":v1")
	if img.ID != id || img.Author != "Tester <t@example.com>" {
		t.Errorf("image %+v", img)
	}
	c := img.Config
	if c.Labels["purpose"] != "test" || c.WorkingDir != "/tmp" || c.User != "nobody" || c.StopSignal != "SIGINT" {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/vol"]; !ok {
		t.Errorf("volumes %v", c.Volumes)
	}
	if !strings.Contains(strings.Join(c.Env, " "), "FOO=bar") || !strings.Contains(strings.Join(c.Env, " "), "PATH=") {
		t.Errorf("env %v", c.Env)
	}
	base := inspectImage(t, "busybox")
	if len(img.RootFS.Layers) != len(base.RootFS.Layers)+1 {
		t.Errorf("layers %d, busybox has %d", len(img.RootFS.Layers), len(base.RootFS.Layers))
	}
	hist := d.PouchOK(t, "history", "--no-trunc", repo+":v1")
	if !strings.Contains(hist, "my commit message") {
		t.Errorf("history:\n%s", hist)
	}
	if !strings.Contains(d.PouchOK(t, "images"), repo) {
		t.Errorf("not listed")
	}
	// The container's own configuration is the default: commit without
	// changes keeps its command.
	plain := testenv.Unique("plain")
	removeImageOnCleanup(t, plain)
	d.PouchOK(t, "commit", ctr, plain)
	if got := inspectImage(t, plain).Config.Cmd; strings.Join(got, " ") != "sh -c echo committed > /file; rm /bin/ls; touch /ready; sleep 1000" {
		t.Errorf("default command %v", got)
	}
}

// TestCommitAPI: the API's parameters, a paused container stays paused,
// an untagged commit is dangling, a stopped container commits too.
func TestCommitAPI(t *testing.T) {
	t.Parallel()
	ctr := runD(t, nil, "echo api > /api-file; touch /ready; sleep 1000")
	repo := testenv.Unique("api")
	removeImageOnCleanup(t, repo+":t1")
	q := url.Values{"container": {ctr}, "repo": {repo}, "tag": {"t1"}, "comment": {"via api"}, "author": {"api"}, "pause": {"0"},
		"changes": {`CMD ["cat", "/api-file"]`, "ENV A=1"}}
	r := d.Do(t, "POST", "/commit?"+q.Encode(), nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("commit: %d %s", r.Status, r.Body)
	}
	var resp struct {
		ID string `json:"Id"`
	}
	r.JSON(t, &resp)
	if !imageIDRe.MatchString(resp.ID) {
		t.Fatalf("commit answer %s", r.Body)
	}
	if got := runRm(t, repo+":t1"); got != "api\n" {
		t.Errorf("runs %q", got)
	}
	// A body configuration is the base; the changes go on top.
	body := map[string]any{"Cmd": []string{"echo", "from body"}, "Env": []string{"B=2"}}
	r = d.Do(t, "POST", "/commit?container="+ctr+"&repo="+repo+"&tag=body", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("commit with a body: %d %s", r.Status, r.Body)
	}
	removeImageOnCleanup(t, repo+":body")
	if got := runRm(t, repo+":body"); got != "from body\n" {
		t.Errorf("body's command: %q", got)
	}
	if env := strings.Join(inspectImage(t, repo+":body").Config.Env, " "); !strings.Contains(env, "B=2") || !strings.Contains(env, "PATH=") {
		t.Errorf("body's env merged with the container's: %s", env)
	}
	// Paused stays paused.
	d.PouchOK(t, "pause", ctr)
	r = d.Do(t, "POST", "/commit?container="+ctr, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("commit of a paused container: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &resp)
	removeImageOnCleanup(t, resp.ID)
	if st := containerStatus(t, ctr); st != "paused" {
		t.Errorf("container %s after committing it paused", st)
	}
	d.PouchOK(t, "unpause", ctr)
	// No name: dangling.
	r = d.Do(t, "GET", "/images/json?filters="+url.QueryEscape(`{"dangling":["true"]}`), nil)
	var list []struct {
		ID string `json:"Id"`
	}
	r.JSON(t, &list)
	found := false
	for _, img := range list {
		found = found || img.ID == resp.ID
	}
	if !found {
		t.Errorf("untagged commit %s not listed as dangling: %s", resp.ID, r.Body)
	}
	// A stopped container.
	stopped := create(t, nil, "echo stopped > /s")
	startAttached(t, stopped)
	out := strings.TrimSpace(d.PouchOK(t, "commit", "-c", `CMD ["cat","/s"]`, stopped))
	removeImageOnCleanup(t, out)
	if got := runRm(t, out); got != "stopped\n" {
		t.Errorf("commit of a stopped container runs %q", got)
	}
	// Bad input.
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"container=nope-" + repo, http.StatusNotFound},
		{"container=" + ctr + "&changes=" + url.QueryEscape("RUN rm -rf /"), http.StatusBadRequest},
		{"container=" + ctr + "&changes=" + url.QueryEscape("EXPOSE nope"), http.StatusBadRequest},
		{"container=" + ctr + "&repo=UPPER", http.StatusBadRequest},
		{"container=" + ctr + "&pause=maybe", http.StatusBadRequest},
	} {
		if r := d.Do(t, "POST", "/commit?"+tc.q, nil); r.Status != tc.want || r.Message() == "" {
			t.Errorf("commit %s: %d %s, want %d", tc.q, r.Status, r.Body, tc.want)
		}
	}
	pouchFails(t, "No such container", "commit", "nope-"+repo)
	pouchFails(t, "is not a valid change command", "commit", "-c", "FROM busybox", ctr)
}

// TestDiff lists a container's changes as docker diff does, leaving out
// the files the runtime mounts.
func TestDiff(t *testing.T) {
	t.Parallel()
	ctr := runD(t, nil, "echo x > /new; echo y >> /etc/group; rm /bin/ls; mkdir -p /tmp/a/b; touch /ready; sleep 1000")
	want := "C /bin\nD /bin/ls\nC /etc\nC /etc/group\nA /new\nA /ready\nC /tmp\nA /tmp/a\nA /tmp/a/b\n"
	if got := d.PouchOK(t, "diff", ctr); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	r := d.Do(t, "GET", "/containers/"+ctr+"/changes", nil)
	var changes []struct {
		Kind int
		Path string
	}
	r.JSON(t, &changes)
	if r.Status != http.StatusOK || len(changes) != 9 || changes[1].Kind != 2 || changes[4].Kind != 1 || changes[0].Kind != 0 {
		t.Errorf("changes: %d %s", r.Status, r.Body)
	}
	d.PouchOK(t, "stop", "-t", "0", ctr)
	if got := d.PouchOK(t, "diff", ctr); got != want {
		t.Errorf("diff of the stopped container:\n%s", got)
	}
	fresh := create(t, nil, "true")
	startAttached(t, fresh)
	if got := d.PouchOK(t, "diff", fresh); got != "" {
		t.Errorf("a container that changed nothing: %q", got)
	}
	if r := d.Do(t, "GET", "/containers/nope-"+ctr+"/changes", nil); r.Status != http.StatusNotFound {
		t.Errorf("changes of an unknown container: %d", r.Status)
	}
}

// TestExportImport exports a container, imports the tarball with changes
// and runs the image; a broken tarball leaves no image.
func TestExportImport(t *testing.T) {
	t.Parallel()
	ctr := runD(t, nil, "echo exported > /exported; touch /ready; sleep 1000")
	dir := t.TempDir()
	tarball := filepath.Join(dir, "fs.tar")
	d.PouchOK(t, "export", "-o", tarball, ctr)
	data, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	entries := readTar(t, data)
	if entries["exported"].data != "exported\n" || entries["bin/busybox"].hdr == nil || entries["etc/passwd"].hdr == nil {
		t.Errorf("export: %d entries %v", len(entries), tarNames(entries)[:5])
	}
	if _, ok := entries["./"]; ok {
		t.Errorf("export has a root entry")
	}
	repo := testenv.Unique("imported")
	removeImageOnCleanup(t, repo)
	out := d.PouchOK(t, "import", "-m", "round trip", "-c", `CMD ["/bin/cat", "/exported"]`, "-c", "ENV IMPORTED=1", tarball, repo)
	id := strings.TrimSpace(out)
	if !imageIDRe.MatchString(id) {
		t.Fatalf("import printed %q", out)
	}
	if got := runRm(t, repo); got != "exported\n" {
		t.Errorf("imported image runs %q", got)
	}
	img := inspectImage(t, repo)
	if img.ID != id || len(img.RootFS.Layers) != 1 || !strings.Contains(strings.Join(img.Config.Env, ","), "IMPORTED=1") {
		t.Errorf("imported image %+v", img)
	}
	if hist := d.PouchOK(t, "history", repo); !strings.Contains(hist, "round trip") {
		t.Errorf("history:\n%s", hist)
	}
	// From stdin, exported by stdout, of a stopped container.
	d.PouchOK(t, "stop", "-t", "0", ctr)
	exported := d.PouchOK(t, "export", ctr)
	repo2 := testenv.Unique("stdin") + ":t"
	removeImageOnCleanup(t, repo2)
	res := d.Pouch(t, strings.NewReader(exported), "import", "-", repo2)
	if res.ExitCode != 0 || !imageIDRe.MatchString(strings.TrimSpace(res.Stdout)) {
		t.Fatalf("import -: %d %s %s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if got := runRm(t, repo2, "/bin/cat", "/exported"); got != "exported\n" {
		t.Errorf("import from stdin runs %q", got)
	}
	if hist := d.PouchOK(t, "history", repo2); !strings.Contains(hist, "Imported from -") {
		t.Errorf("default message:\n%s", hist)
	}
	// Broken tarballs: 400, and no image, half or whole (the blobs are
	// checked by TestImportLeavesNothing, which runs alone).
	for _, bad := range []string{"", "this is not a tar archive at all, not even close to one.", string(data[:len(data)/2])} {
		r := d.Do(t, "POST", "/images/create?fromSrc=-&repo=broken-"+repo, []byte(bad))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Message(), "invalid tar archive") {
			t.Errorf("import of %d broken bytes: %d %s", len(bad), r.Status, r.Body)
		}
	}
	if r := d.Do(t, "POST", "/images/create?fromSrc=-&changes="+url.QueryEscape("RUN x"), data); r.Status != http.StatusBadRequest {
		t.Errorf("import with a bad change: %d %s", r.Status, r.Body)
	}
	if r := d.Do(t, "POST", "/images/create?fromSrc=http://example.invalid/x.tar", nil); r.Status != http.StatusNotImplemented {
		t.Errorf("import from a URL: %d %s", r.Status, r.Body)
	}
	if r := d.Do(t, "GET", "/images/broken-"+repo+"/json", nil); r.Status != http.StatusNotFound {
		t.Errorf("a failed import left an image: %d %s", r.Status, r.Body)
	}
	pouchFails(t, "no such file or directory", "import", filepath.Join(dir, "missing"), "x")
	writeFile(t, filepath.Join(dir, "bad.tar"), "garbage garbage garbage garbage", 0o644)
	pouchFails(t, "invalid tar archive", "import", filepath.Join(dir, "bad.tar"), "x")
	// Export errors.
	if r := d.Do(t, "GET", "/containers/nope-"+repo+"/export", nil); r.Status != http.StatusNotFound {
		t.Errorf("export of an unknown container: %d %s", r.Status, r.Body)
	}
}
