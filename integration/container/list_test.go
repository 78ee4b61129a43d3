package container

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestPs is not parallel: -n and -l look at every container.
func TestPs(t *testing.T) {
	group := testenv.UniqueName(t)
	label := "grp=" + group
	idA, nameA := d.RunDetached(t, "-l", label, "-l", "role=a", "busybox", "sh", "-c", "echo a; "+loop)
	nameB := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, nameB)
	res := d.Pouch(t, nil, "run", "--name", nameB, "-l", label, "busybox", "sh", "-c", "exit 3")
	if res.ExitCode != 3 {
		t.Fatalf("run B: exit %d %s", res.ExitCode, res.Combined())
	}
	idB := d.Inspect(t, nameB).ID
	nameC := testenv.UniqueName(t)
	d.RemoveContainerOnCleanup(t, nameC)
	idC := strings.TrimSpace(d.PouchOK(t, "create", "--name", nameC, "-l", label, "busybox", "echo", "a-long-command-line", "that", "is", "truncated"))

	check := func(args []string, want ...string) {
		t.Helper()
		got := lines(d.PouchOK(t, append([]string{"ps"}, args...)...))
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("ps %s:\n got %q\nwant %q", strings.Join(args, " "), got, want)
		}
	}
	f := []string{"-f", "label=" + label}
	check(append([]string{"-q"}, f...), idA[:12])
	check(append([]string{"-a", "-q"}, f...), idC[:12], idB[:12], idA[:12])
	check(append([]string{"-a", "-q", "--no-trunc"}, f...), idC, idB, idA)
	check([]string{"-q", "-n", "2"}, idC[:12], idB[:12])
	check([]string{"-q", "-l"}, idC[:12])
	check([]string{"-q", "-l", "--no-trunc"}, idC)
	check(append([]string{"-a", "-q", "-f", "status=exited"}, f...), idB[:12])
	check(append([]string{"-a", "-q", "-f", "status=created"}, f...), idC[:12])
	check(append([]string{"-a", "-q", "-f", "status=running"}, f...), idA[:12])
	check(append([]string{"-a", "-q", "-f", "exited=3"}, f...), idB[:12])
	check([]string{"-a", "-q", "-f", "name=" + nameA}, idA[:12])
	check([]string{"-a", "-q", "-f", "id=" + idB[:8]}, idB[:12])
	check(append([]string{"-a", "-q", "-f", "label=role=a"}, f...), idA[:12])
	check(append([]string{"-a", "-q", "-f", "label=role"}, f...), idA[:12])
	check(append([]string{"-a", "-q", "-f", "ancestor=busybox"}, f...), idC[:12], idB[:12], idA[:12])
	check(append([]string{"-a", "-q", "-f", "ancestor=busybox:latest"}, f...), idC[:12], idB[:12], idA[:12])
	imageID := d.Inspect(t, nameA).Image
	check(append([]string{"-a", "-q", "-f", "ancestor=" + imageID}, f...), idC[:12], idB[:12], idA[:12])
	check(append([]string{"-a", "-q", "-f", "ancestor=nosuchimage"}, f...))
	// before and since name containers; they imply -a.
	check(append([]string{"-q", "-f", "before=" + nameC}, f...), idB[:12], idA[:12])
	check(append([]string{"-q", "-f", "since=" + nameA}, f...), idC[:12], idB[:12])
	check(append([]string{"-q", "-f", "since=" + idA[:12], "-f", "before=" + nameC}, f...), idB[:12])
	if res := d.Pouch(t, nil, "ps", "-f", "before=nosuchcontainer_q"); res.ExitCode == 0 {
		t.Errorf("ps -f before=<unknown> succeeded")
	}
	// Two values of one filter: either matches.
	check([]string{"-a", "-q", "-f", "name=" + nameA, "-f", "name=" + nameB}, idB[:12], idA[:12])

	// Go templates.
	check(append([]string{"-a", "--format", "{{.Names}} {{.State}} {{.Label \"role\"}}"}, f...),
		nameC+" created ", nameB+" exited ", nameA+" running a")
	out := d.PouchOK(t, append([]string{"ps", "-a", "--format", "{{.Names}}|{{.Status}}"}, f...)...)
	ls := lines(out)
	if len(ls) != 3 || ls[0] != nameC+"|Created" || !strings.HasPrefix(ls[1], nameB+"|Exited (3) ") || !strings.HasPrefix(ls[2], nameA+"|Up ") {
		t.Errorf("status texts:\n%s", out)
	}
	// table adds the header.
	out = d.PouchOK(t, append([]string{"ps", "-a", "--format", "table {{.ID}}\t{{.Names}}"}, f...)...)
	ls = lines(out)
	if len(ls) != 4 || !strings.HasPrefix(ls[0], "CONTAINER ID") || !strings.Contains(ls[0], "NAMES") || !strings.HasPrefix(ls[1], idC[:12]) {
		t.Errorf("table format:\n%s", out)
	}
	// json: one object per line.
	out = d.PouchOK(t, append([]string{"ps", "-a", "--format", "json"}, f...)...)
	ls = lines(out)
	if len(ls) != 3 {
		t.Fatalf("json format:\n%s", out)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(ls[2]), &obj); err != nil {
		t.Fatalf("json format line %q: %v", ls[2], err)
	}
	if obj["Names"] != nameA || obj["ID"] != idA[:12] || obj["State"] != "running" || obj["Image"] != "busybox" {
		t.Errorf("json format: %v", obj)
	}
	// The default table.
	out = d.PouchOK(t, append([]string{"ps", "-a"}, f...)...)
	ls = lines(out)
	if len(ls) != 4 {
		t.Fatalf("ps -a:\n%s", out)
	}
	for _, col := range []string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"} {
		if !strings.Contains(ls[0], col) {
			t.Errorf("header lacks %s: %q", col, ls[0])
		}
	}
	if !strings.HasPrefix(ls[1], idC[:12]+" ") || !strings.Contains(ls[1], " busybox ") || !strings.Contains(ls[1], `"echo a-long-command`) ||
		strings.Contains(ls[1], "truncated") || !strings.HasSuffix(ls[1], nameC) || !strings.Contains(ls[1], "Created") {
		t.Errorf("ps row of the created container: %q", ls[1])
	}
	out = d.PouchOK(t, append([]string{"ps", "-a", "--no-trunc"}, f...)...)
	if !strings.Contains(out, idC) || !strings.Contains(out, `"echo a-long-command-line that is truncated"`) {
		t.Errorf("ps --no-trunc:\n%s", out)
	}

	// The API: limit, filters, errors.
	var list []ctypes.Summary
	r := d.ExpectStatus(t, http.StatusOK, "GET", "/containers/json?limit=1", nil)
	r.JSON(t, &list)
	if len(list) != 1 || list[0].ID != idC {
		t.Errorf("limit=1: %+v", list)
	}
	q := url.QueryEscape(`{"label":{"` + label + `":true},"status":{"exited":true}}`)
	r = d.ExpectStatus(t, http.StatusOK, "GET", "/containers/json?all=1&filters="+q, nil)
	list = nil
	r.JSON(t, &list)
	if len(list) != 1 || list[0].ID != idB || list[0].State != ctypes.StateExited || list[0].Names[0] != "/"+nameB {
		t.Errorf("filters (map form): %+v", list)
	}
	d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/json?filters="+url.QueryEscape(`{"bogus":["x"]}`), nil)
	d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/json?filters="+url.QueryEscape(`{"status":["sleeping"]}`), nil)
	d.ExpectStatus(t, http.StatusBadRequest, "GET", "/containers/json?filters=notjson", nil)
}

func TestInspect(t *testing.T) {
	t.Parallel()
	id, name := d.RunDetached(t, "-l", "a=b", "-e", "X=1", "busybox", "sh", "-c", "exit 4")
	d.WaitStatus(t, name, ctypes.StateExited)
	out := d.PouchOK(t, "inspect", "-f", "{{.State.ExitCode}} {{.Name}} {{.Id}} {{json .Config.Labels}}", name)
	if want := "4 /" + name + " " + id + ` {"a":"b"}` + "\n"; out != want {
		t.Errorf("inspect -f: %q, want %q", out, want)
	}
	// By ID prefix, several at once, as a JSON array by default.
	out = d.PouchOK(t, "inspect", id[:10], name)
	var arr []ctypes.InspectResponse
	if err := json.Unmarshal([]byte(out), &arr); err != nil || len(arr) != 2 || arr[0].ID != id || arr[1].ID != id {
		t.Errorf("inspect: %v %s", err, out)
	}
	c := arr[0]
	if c.Path != "sh" || len(c.Args) != 2 || c.Config.Image != "busybox" || !strings.HasPrefix(c.Image, "sha256:") ||
		c.LogPath == "" || c.HostnamePath == "" || c.State.StartedAt == "0001-01-01T00:00:00Z" || c.HostConfig.NetworkMode != "bridge" {
		t.Errorf("inspect fields: %+v", c)
	}
	res := d.Pouch(t, nil, "inspect", "nosuchcontainer_x")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "No such") {
		t.Errorf("inspect of an unknown container: exit %d %q", res.ExitCode, res.Combined())
	}
}

// TestPrune is not parallel: prune looks at every container; its label
// filter keeps it to this test's.
func TestPrune(t *testing.T) {
	group := testenv.UniqueName(t)
	var exited, kept []string
	for i := 0; i < 2; i++ {
		exited = append(exited, createAPI(t, "", map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "Labels": map[string]string{"grp": group}}))
	}
	kept = append(kept, createAPI(t, "", map[string]any{"Image": "busybox", "Cmd": []string{"true"}, "Labels": map[string]string{"grp": group, "keep": "1"}}))
	id, _ := d.RunDetached(t, "-l", "grp="+group, "busybox", "sleep", "300")
	kept = append(kept, id)
	other := createAPI(t, "", cfg("true"))

	q := url.QueryEscape(`{"label":{"grp=` + group + `":true},"label!":{"keep":true}}`)
	r := d.ExpectStatus(t, http.StatusOK, "POST", "/containers/prune?filters="+q, nil)
	var rep ctypes.PruneReport
	r.JSON(t, &rep)
	got := map[string]bool{}
	for _, id := range rep.ContainersDeleted {
		got[id] = true
	}
	if len(got) != len(exited) || !got[exited[0]] || !got[exited[1]] {
		t.Errorf("pruned %v, want %v", rep.ContainersDeleted, exited)
	}
	for _, id := range append(kept, other) {
		d.Inspect(t, id)
	}
	for _, id := range exited {
		assertRemoved(t, id, "")
	}
	d.ExpectStatus(t, http.StatusBadRequest, "POST", "/containers/prune?filters="+url.QueryEscape(`{"status":{"exited":true}}`), nil)
	// until: nothing of this test is older than an hour.
	q = url.QueryEscape(`{"label":{"grp=` + group + `":true},"until":{"1h":true}}`)
	r = d.ExpectStatus(t, http.StatusOK, "POST", "/containers/prune?filters="+q, nil)
	rep = ctypes.PruneReport{}
	r.JSON(t, &rep)
	if len(rep.ContainersDeleted) != 0 {
		t.Errorf("until=1h pruned %v", rep.ContainersDeleted)
	}
}
