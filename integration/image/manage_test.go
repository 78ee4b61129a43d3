package image

import (
	"encoding/json"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/internal/testimage"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

type deleteItem struct {
	Untagged string
	Deleted  string
}

func rmi(t *testing.T, ref string, force bool) (int, []deleteItem, string) {
	t.Helper()
	p := "/images/" + ref
	if force {
		p += "?force=1"
	}
	resp := d.Do(t, "DELETE", p, nil)
	var items []deleteItem
	if resp.Status == 200 {
		resp.JSON(t, &items)
	}
	return resp.Status, items, resp.Message()
}

// untagged lists the tags an answer untagged (digest references left out).
func untagged(items []deleteItem) (out []string) {
	for _, i := range items {
		if i.Untagged != "" && !strings.Contains(i.Untagged, "@") {
			out = append(out, i.Untagged)
		}
	}
	return out
}

func deleted(items []deleteItem) (out []string) {
	for _, i := range items {
		if i.Deleted != "" {
			out = append(out, i.Deleted)
		}
	}
	return out
}

func tag(t *testing.T, source, repo, tg string) {
	t.Helper()
	resp := d.Do(t, "POST", "/images/"+source+"/tag?repo="+url.QueryEscape(repo)+"&tag="+url.QueryEscape(tg), nil)
	if resp.Status != 201 {
		t.Fatalf("tag %s %s:%s: %d %s", source, repo, tg, resp.Status, resp.Body)
	}
}

func TestUnknownImageIs404(t *testing.T) {
	name := testenv.Unique("no-such-image") + ":v1"
	for _, c := range []struct{ method, path string }{
		{"GET", "/images/" + name + "/json"},
		{"GET", "/images/" + name + "/history"},
		{"GET", "/images/" + name + "/get"},
		{"POST", "/images/" + name + "/tag?repo=x&tag=y"},
		{"DELETE", "/images/" + name},
		{"DELETE", "/images/" + name + "?force=1"},
	} {
		resp := d.Do(t, c.method, c.path, nil)
		if resp.Status != 404 {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.path, resp.Status, resp.Body)
			continue
		}
		if !strings.Contains(resp.Message(), name) {
			t.Errorf("%s %s: message %q does not name %s", c.method, c.path, resp.Message(), name)
		}
	}
	// An ID (prefix) that matches nothing.
	if resp := d.Do(t, "GET", "/images/sha256:"+strings.Repeat("0", 64)+"/json", nil); resp.Status != 404 {
		t.Errorf("inspect unknown ID: %d %s", resp.Status, resp.Body)
	}
	if resp := d.Do(t, "GET", "/images/0000000000ab/json", nil); resp.Status != 404 {
		t.Errorf("inspect unknown ID prefix: %d %s", resp.Status, resp.Body)
	}
	// Creating a container from it is a 404 as well.
	resp := d.Do(t, "POST", "/containers/create", map[string]any{"Image": name, "Cmd": []string{"true"}})
	if resp.Status != 404 || !strings.Contains(resp.Message(), name) {
		t.Errorf("create from unknown image: %d %s", resp.Status, resp.Body)
	}
}

func TestMalformedReferenceIs400(t *testing.T) {
	for _, c := range []struct{ repo, tag string }{
		{"UPPER", "v1"},
		{"bad repo", "v1"},
		{"ok", "bad:tag"},
		{"ok", "-leadingdash"},
		{"ok", strings.Repeat("t", 129)},
		{"", "v1"},
		{"busybox@sha256:" + strings.Repeat("a", 64), ""},
	} {
		resp := d.Do(t, "POST", "/images/busybox:latest/tag?repo="+url.QueryEscape(c.repo)+"&tag="+url.QueryEscape(c.tag), nil)
		if resp.Status != 400 || resp.Message() == "" {
			t.Errorf("tag as %q:%q: %d %s, want 400", c.repo, c.tag, resp.Status, resp.Body)
		}
	}
	for _, ref := range []string{"Bad_Name:v1", "a::b", "busybox:" + url.PathEscape("bad tag")} {
		if resp := d.Do(t, "GET", "/images/"+ref+"/json", nil); resp.Status != 400 {
			t.Errorf("inspect %q: %d %s, want 400", ref, resp.Status, resp.Body)
		}
	}
	// Nothing was tagged by the refusals.
	if got := inspect(t, "busybox:latest").RepoTags; !sameStrings(got, []string{"busybox:latest"}) {
		t.Errorf("busybox RepoTags after refused tags: %q", got)
	}
}

// Removing one of several names only untags; removing by ID an image with
// several names needs force.
func TestTagAndRemove(t *testing.T) {
	repo := testenv.Unique("tagrm")
	img := newImage(t, repo+":v1")
	id := loadImage(t, img)

	tag(t, repo+":v1", repo, "v2")
	tag(t, id, "localhost:5000/"+repo, "v3")
	want := []string{repo + ":v1", repo + ":v2", "localhost:5000/" + repo + ":v3"}
	if got := inspect(t, id).RepoTags; !sameStrings(got, want) {
		t.Fatalf("RepoTags after tag = %q, want %q", got, want)
	}
	// Tagging again with the same name is fine and changes nothing.
	tag(t, id, repo, "v2")
	// Moving a name to another image takes it from this one.
	other := loadImage(t, newImage(t, testenv.Unique("tagrm-other")+":v1"))
	tag(t, other, repo, "moved")
	tag(t, id, repo, "moved")
	if got := inspect(t, other).RepoTags; len(got) != 1 {
		t.Errorf("other image's RepoTags after the name moved away: %q", got)
	}

	status, items, msg := rmi(t, id, false)
	if status != 409 || !strings.Contains(msg, "must be forced") {
		t.Fatalf("rmi by ID of an image with several names: %d %q, want 409", status, msg)
	}
	status, items, msg = rmi(t, repo+":v2", false)
	if status != 200 {
		t.Fatalf("rmi %s:v2: %d %s", repo, status, msg)
	}
	if !sameStrings(untagged(items), []string{repo + ":v2"}) || len(deleted(items)) != 0 {
		t.Errorf("rmi of one name answered %+v, want only Untagged %s:v2", items, repo)
	}
	got := findImage(listImages(t, nil), id)
	if got == nil {
		t.Fatalf("image gone after removing one of its names")
	}
	want = []string{repo + ":v1", repo + ":moved", "localhost:5000/" + repo + ":v3"}
	if !sameStrings(got.RepoTags, want) {
		t.Errorf("RepoTags after untag = %q, want %q", got.RepoTags, want)
	}
	if resp := d.Do(t, "GET", "/images/"+repo+":v2/json", nil); resp.Status != 404 {
		t.Errorf("removed name still resolves: %d", resp.Status)
	}

	status, items, msg = rmi(t, id, true)
	if status != 200 {
		t.Fatalf("rmi -f by ID: %d %s", status, msg)
	}
	if !sameStrings(deleted(items), []string{id}) || len(untagged(items)) < 3 {
		t.Errorf("rmi -f by ID answered %+v", items)
	}
	if findImage(listImages(t, nil), id) != nil {
		t.Errorf("image listed after rmi -f")
	}
	// The last name of an image removes it.
	status, items, msg = rmi(t, other, false)
	if status != 200 || !sameStrings(deleted(items), []string{other}) {
		t.Errorf("rmi of an image with one name left: %d %+v %s", status, items, msg)
	}
}

func TestRemoveImageUsedByContainer(t *testing.T) {
	name := testenv.Unique("inuse") + ":v1"
	id := loadImage(t, newImage(t, name))
	cid := createContainer(t, name, "cat", "/etc/layer2")

	for _, ref := range []string{name, id} {
		status, _, msg := rmi(t, ref, false)
		if status != 409 {
			t.Errorf("rmi %s used by a container: %d %q, want 409", ref, status, msg)
		}
	}
	if got := findImage(listImages(t, nil), id); got == nil || got.Containers != 1 {
		t.Fatalf("image after refused rmi: %+v (want listed with Containers=1)", got)
	}
	// Forced while the container is stopped: the name goes, the container
	// keeps working.
	status, items, msg := rmi(t, name, true)
	if status != 200 || !sameStrings(untagged(items), []string{name}) {
		t.Fatalf("rmi -f with a stopped container: %d %+v %s", status, items, msg)
	}
	if resp := d.Do(t, "GET", "/images/"+name+"/json", nil); resp.Status != 404 {
		t.Errorf("name still resolves after rmi -f: %d", resp.Status)
	}
	startContainer(t, cid)
	if resp := d.Do(t, "POST", "/containers/"+cid+"/wait", nil); resp.Status != 200 {
		t.Fatalf("wait: %d %s", resp.Status, resp.Body)
	}
	if out := logs(t, cid); out != "layer2\n" {
		t.Errorf("container of a removed image printed %q", out)
	}
	// Prune leaves it while the container exists, and takes it after.
	if resp := d.Do(t, "POST", "/images/prune", nil); resp.Status != 200 {
		t.Fatalf("prune: %d %s", resp.Status, resp.Body)
	}
	if resp := d.Do(t, "GET", "/images/"+id+"/json", nil); resp.Status != 200 {
		t.Errorf("image of an existing container pruned: %d", resp.Status)
	}
	if resp := d.Do(t, "DELETE", "/containers/"+cid, nil); resp.Status != 204 {
		t.Fatalf("rm container: %d %s", resp.Status, resp.Body)
	}
	resp := d.Do(t, "POST", "/images/prune", nil)
	var report struct {
		ImagesDeleted  []deleteItem
		SpaceReclaimed uint64
	}
	resp.JSON(t, &report)
	if !sameStrings(deleted(report.ImagesDeleted), []string{id}) || report.SpaceReclaimed == 0 {
		t.Errorf("prune after the container went: %+v", report)
	}
}

func TestRemoveImageUsedByRunningContainer(t *testing.T) {
	name := testenv.Unique("running") + ":v1"
	id := loadImage(t, newImage(t, name))
	cid := createContainer(t, name, "sleep", "60")
	startContainer(t, cid)

	for _, force := range []bool{false, true} {
		status, _, msg := rmi(t, id, force)
		if status != 409 {
			t.Errorf("rmi (force=%v) by ID of an image a running container uses: %d %q, want 409", force, status, msg)
		}
	}
	if status, _, msg := rmi(t, name, false); status != 409 {
		t.Errorf("rmi by name of an image a running container uses: %d %q, want 409", status, msg)
	}
	// Forcing by name only untags, as Docker does; the image stays.
	status, items, msg := rmi(t, name, true)
	if status != 200 || !sameStrings(untagged(items), []string{name}) || len(deleted(items)) != 0 {
		t.Errorf("rmi -f by name with a running container: %d %+v %s", status, items, msg)
	}
	if resp := d.Do(t, "GET", "/images/"+id+"/json", nil); resp.Status != 200 {
		t.Errorf("image of a running container is gone: %d", resp.Status)
	}
	if status, _, _ := rmi(t, id, true); status != 409 {
		t.Errorf("rmi -f by ID of the (now untagged) image of a running container: %d, want 409", status)
	}
	if resp := d.Do(t, "POST", "/containers/"+cid+"/kill", nil); resp.Status != 204 {
		t.Fatalf("kill: %d %s", resp.Status, resp.Body)
	}
}

func TestListFilters(t *testing.T) {
	repo := testenv.Unique("filters")
	tagged := loadImage(t, newImage(t, repo+"/app:v1", testimage.WithLabels(map[string]string{"pouch.test": repo})))
	tag(t, tagged, repo+"/app", "v2")
	tag(t, tagged, repo+"/other", "v1")
	dangling := loadImage(t, newImage(t, repo+"/dangling:v1"))
	// Moving the name away leaves the first image dangling.
	tag(t, tagged, repo+"/dangling", "v1")

	has := func(list []summary, id string) bool { return findImage(list, id) != nil }
	list := listImages(t, map[string][]string{"dangling": {"true"}})
	if !has(list, dangling) || has(list, tagged) {
		t.Errorf("dangling=true: %q", ids(list))
	}
	for _, s := range list {
		if len(s.RepoTags) != 0 {
			t.Errorf("dangling=true lists tagged %+v", s)
		}
	}
	list = listImages(t, map[string][]string{"dangling": {"false"}})
	if has(list, dangling) || !has(list, tagged) {
		t.Errorf("dangling=false: %q", ids(list))
	}
	for _, c := range []struct {
		pattern string
		want    []string
	}{
		{repo + "/app", []string{repo + "/app:v1", repo + "/app:v2"}},
		{repo + "/app:v2", []string{repo + "/app:v2"}},
		{repo + "/*", []string{repo + "/app:v1", repo + "/app:v2", repo + "/other:v1", repo + "/dangling:v1"}},
		{repo + "/*:v1", []string{repo + "/app:v1", repo + "/other:v1", repo + "/dangling:v1"}},
	} {
		list := listImages(t, map[string][]string{"reference": {c.pattern}})
		if len(list) != 1 || list[0].ID != tagged || !sameStrings(list[0].RepoTags, c.want) {
			t.Errorf("reference=%s: %+v, want only %s with %q", c.pattern, list, tagged, c.want)
		}
	}
	if list := listImages(t, map[string][]string{"reference": {testenv.Unique("nomatch")}}); len(list) != 0 {
		t.Errorf("reference matching nothing listed %+v", list)
	}
	if list := listImages(t, map[string][]string{"label": {"pouch.test=" + repo}}); len(list) != 1 || list[0].ID != tagged {
		t.Errorf("label filter: %+v", list)
	}
	// The map form docker's CLI sends.
	resp := d.Do(t, "GET", "/images/json?filters="+url.QueryEscape(`{"dangling":{"true":true}}`), nil)
	var m []summary
	resp.JSON(t, &m)
	if !has(m, dangling) || has(m, tagged) {
		t.Errorf("dangling filter, map form: %q", ids(m))
	}
	for _, bad := range []string{`{"dangling":["maybe"]}`, `{"nosuchfilter":["x"]}`, `not json`} {
		if resp := d.Do(t, "GET", "/images/json?filters="+url.QueryEscape(bad), nil); resp.Status != 400 {
			t.Errorf("filters=%s: %d %s, want 400", bad, resp.Status, resp.Body)
		}
	}
}

func prune(t *testing.T, filters string) []deleteItem {
	t.Helper()
	p := "/images/prune"
	if filters != "" {
		p += "?filters=" + url.QueryEscape(filters)
	}
	resp := d.Do(t, "POST", p, nil)
	if resp.Status != 200 {
		t.Fatalf("prune %s: %d %s", filters, resp.Status, resp.Body)
	}
	var report struct{ ImagesDeleted []deleteItem }
	resp.JSON(t, &report)
	return report.ImagesDeleted
}

func TestPruneRemovesDanglingOnly(t *testing.T) {
	repo := testenv.Unique("prune")
	kept := loadImage(t, newImage(t, repo+":v1"))
	gone := loadImage(t, newImage(t, repo+":old"))
	tag(t, kept, repo, "old") // gone is now dangling
	usedDangling := loadImage(t, newImage(t, repo+":used"))
	createContainer(t, repo+":used", "true")
	tag(t, kept, repo, "used") // dangling, but a container uses it

	// What prune must take: every unused dangling image (gone, and any
	// an earlier failed test left).
	var want []string
	for _, s := range listImages(t, nil) {
		if len(s.RepoTags) == 0 && s.Containers == 0 {
			want = append(want, s.ID)
		}
	}
	if !contains(want, gone) {
		t.Fatalf("%s is not dangling before prune", gone)
	}
	items := prune(t, "")
	if got := deleted(items); !sameStrings(got, want) {
		t.Errorf("prune deleted %q, want %q", got, want)
	}
	list := listImages(t, nil)
	for _, id := range []string{kept, usedDangling} {
		if findImage(list, id) == nil {
			t.Errorf("prune removed %s", id)
		}
	}
	if findImage(list, gone) != nil {
		t.Errorf("dangling image %s still listed after prune", gone)
	}
	if len(findImage(list, kept).RepoTags) != 3 {
		t.Errorf("tagged image after prune: %+v", findImage(list, kept))
	}
	// dangling=true is the same as no filter.
	if got := deleted(prune(t, `{"dangling":["true"]}`)); len(got) != 0 {
		t.Errorf("second prune deleted %q", got)
	}
}

func TestPruneAllKeepsImagesInUse(t *testing.T) {
	repo := testenv.Unique("pruneall")
	unused := loadImage(t, newImage(t, repo+"/unused:v1"))
	used := loadImage(t, newImage(t, repo+"/used:v1"))
	createContainer(t, repo+"/used:v1", "true")
	// Keep the package's busybox:latest, which later tests use.
	createContainer(t, "busybox:latest", "true")
	busybox := inspect(t, "busybox:latest").ID

	var want []string
	for _, s := range listImages(t, nil) {
		if s.Containers == 0 {
			want = append(want, s.ID)
		}
	}
	items := prune(t, `{"dangling":["false"]}`)
	if got := deleted(items); !sameStrings(got, want) || !contains(got, unused) {
		t.Errorf("prune dangling=false deleted %q, want %q (with %s)", got, want, unused)
	}
	if got := untagged(items); !contains(got, repo+"/unused:v1") {
		t.Errorf("prune dangling=false untagged %q", got)
	}
	list := listImages(t, nil)
	if findImage(list, unused) != nil {
		t.Errorf("unused tagged image survived prune dangling=false")
	}
	for _, id := range []string{used, busybox} {
		if findImage(list, id) == nil {
			t.Errorf("image %s used by a container was pruned", id)
		}
	}
	if resp := d.Do(t, "POST", "/images/prune?filters="+url.QueryEscape(`{"nosuch":["x"]}`), nil); resp.Status != 400 {
		t.Errorf("prune with an unknown filter: %d, want 400", resp.Status)
	}
}

func TestPruneFilters(t *testing.T) {
	repo := testenv.Unique("prunefilt")
	labelled := loadImage(t, newImage(t, repo+"/l:v1", testimage.WithLabels(map[string]string{"pouch.prune": repo})))
	other := loadImage(t, newImage(t, repo+"/o:v1", testimage.WithLabels(map[string]string{"pouch.prune.other": repo})))
	// Make both dangling.
	tag(t, "busybox:latest", repo+"/l", "v1")
	tag(t, "busybox:latest", repo+"/o", "v1")
	removeOnCleanup(t, repo+"/l:v1", repo+"/o:v1")

	if got := deleted(prune(t, `{"label":["pouch.prune=`+repo+`"]}`)); !sameStrings(got, []string{labelled}) {
		t.Errorf("prune label=pouch.prune=%s deleted %q, want %s", repo, got, labelled)
	}
	// until: only images created before the time; ours are created in 2024.
	label := `"label":["pouch.prune.other=` + repo + `"]`
	if got := deleted(prune(t, `{"until":["2020-01-01T00:00:00Z"],`+label+`}`)); len(got) != 0 {
		t.Errorf("prune until=2020 deleted %q", got)
	}
	if got := deleted(prune(t, `{"label!":["pouch.prune.other"],`+label+`}`)); len(got) != 0 {
		t.Errorf("prune label!=pouch.prune.other deleted %q", got)
	}
	if got := deleted(prune(t, `{"until":["`+time.Now().Add(time.Hour).Format(time.RFC3339)+`"],`+label+`}`)); !sameStrings(got, []string{other}) {
		t.Errorf("prune until=now+1h deleted %q, want %s", got, other)
	}
	if resp := d.Do(t, "POST", "/images/prune?filters="+url.QueryEscape(`{"until":["not a time"]}`), nil); resp.Status != 400 {
		t.Errorf("prune with a bad until: %d, want 400", resp.Status)
	}
}

func TestHistory(t *testing.T) {
	name := testenv.Unique("history") + ":v1"
	img := newImage(t, name)
	created := testimage.Epoch
	img.Config.History = append(img.Config.History, ocispec.History{Created: &created, CreatedBy: `/bin/sh -c #(nop)  CMD ["sh"]`, EmptyLayer: true})
	id := loadImage(t, img)

	resp := d.Do(t, "GET", "/images/"+name+"/history", nil)
	if resp.Status != 200 {
		t.Fatalf("history: %d %s", resp.Status, resp.Body)
	}
	var h []struct {
		ID        string `json:"Id"`
		Created   int64
		CreatedBy string
		Size      int64
		Tags      []string
	}
	resp.JSON(t, &h)
	hist := img.Config.History
	if len(h) != len(hist) {
		t.Fatalf("history has %d entries, want %d: %+v", len(h), len(hist), h)
	}
	for i, e := range h {
		src := hist[len(hist)-1-i]
		if e.CreatedBy != src.CreatedBy {
			t.Errorf("entry %d CreatedBy %q, want %q (newest first)", i, e.CreatedBy, src.CreatedBy)
		}
		if src.EmptyLayer && e.Size != 0 || !src.EmptyLayer && e.Size <= 0 {
			t.Errorf("entry %d (%q, empty=%v) has size %d", i, e.CreatedBy, src.EmptyLayer, e.Size)
		}
		if e.Created != testimage.Epoch.Unix() {
			t.Errorf("entry %d Created %d", i, e.Created)
		}
	}
	if h[0].ID != id || !sameStrings(h[0].Tags, []string{name}) {
		t.Errorf("newest entry: %+v, want ID %s and tag %s", h[0], id, name)
	}
	for _, e := range h[1:] {
		if e.ID != "<missing>" {
			t.Errorf("older entry has ID %q", e.ID)
		}
	}
	// The marker layer's size is the size of its tar.
	layers := img.Layers
	if h[1].Size != int64(len(layers[len(layers)-1])) {
		t.Errorf("marker layer size %d, want %d", h[1].Size, len(layers[len(layers)-1]))
	}
}

func TestInspect(t *testing.T) {
	name := testenv.Unique("inspect") + ":v1"
	img, err := testimage.Busybox(testimage.WithName(name), testimage.WithLabels(map[string]string{"pouch.inspect": name}))
	if err != nil {
		t.Skip(err)
	}
	id := loadImage(t, img)
	got := inspect(t, name)
	if got.ID != id {
		t.Errorf("Id = %s, want %s", got.ID, id)
	}
	if !sameStrings(got.RepoTags, []string{name}) {
		t.Errorf("RepoTags = %q", got.RepoTags)
	}
	repo := strings.SplitN(name, ":", 2)[0]
	if len(got.RepoDigests) != 1 || !strings.HasPrefix(got.RepoDigests[0], repo+"@sha256:") {
		t.Errorf("RepoDigests = %q, want [%s@sha256:...]", got.RepoDigests, repo)
	}
	if !sameStrings(got.Config.Cmd, []string{"sh"}) || len(got.Config.Cmd) != 1 {
		t.Errorf("Config.Cmd = %q", got.Config.Cmd)
	}
	if got.RootFS.Type != "layers" || len(got.RootFS.Layers) != 2 {
		t.Errorf("RootFS = %+v, want 2 layers", got.RootFS)
	}
	for i, l := range img.DiffIDs() {
		if i < len(got.RootFS.Layers) && got.RootFS.Layers[i] != l.String() {
			t.Errorf("RootFS.Layers[%d] = %s, want %s", i, got.RootFS.Layers[i], l)
		}
	}
	if got.Os != "linux" || got.Architecture != runtime.GOARCH {
		t.Errorf("Os/Architecture = %s/%s", got.Os, got.Architecture)
	}
	if got.Size <= 0 {
		t.Errorf("Size = %d", got.Size)
	}
	// The same image by full ID, ID without algorithm, short ID and digest.
	for _, ref := range []string{id, strings.TrimPrefix(id, "sha256:"), strings.TrimPrefix(id, "sha256:")[:12], got.RepoDigests[0]} {
		if other := inspect(t, ref); other.ID != id {
			t.Errorf("inspect %s gave %s", ref, other.ID)
		}
	}
	// The raw answer carries Docker's field names.
	resp := d.Do(t, "GET", "/images/"+name+"/json", nil)
	var raw map[string]json.RawMessage
	resp.JSON(t, &raw)
	for _, f := range []string{"Id", "RepoTags", "RepoDigests", "Created", "Config", "Architecture", "Os", "Size", "RootFS", "GraphDriver"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("inspect answer lacks %s", f)
		}
	}
}

// The image list the service caches follows every change at once, also
// while other requests read it.
func TestListFollowsChanges(t *testing.T) {
	repo := testenv.Unique("cache")
	img := newImage(t, repo+":v0")
	id := imageID(t, img)
	removeOnCleanup(t, id)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp := d.Do(t, "GET", "/images/json", nil)
				if resp.Status != 200 {
					t.Errorf("list: %d", resp.Status)
					return
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	load(t, archiveOf(t, testimage.FormatDocker, img))
	if findImage(listImages(t, nil), id) == nil {
		t.Fatalf("loaded image not listed")
	}
	for i := 1; i <= 15; i++ {
		tg := "v" + string(rune('a'+i))
		tag(t, id, repo, tg)
		if got := findImage(listImages(t, nil), id); got == nil || len(got.RepoTags) != 2 {
			t.Fatalf("round %d: after tag: %+v", i, got)
		}
		if inspect(t, repo+":"+tg).ID != id {
			t.Fatalf("round %d: new tag does not resolve", i)
		}
		if status, _, msg := rmi(t, repo+":"+tg, false); status != 200 {
			t.Fatalf("round %d: rmi: %d %s", i, status, msg)
		}
		if got := findImage(listImages(t, nil), id); got == nil || !sameStrings(got.RepoTags, []string{repo + ":v0"}) {
			t.Fatalf("round %d: after untag: %+v", i, got)
		}
		if resp := d.Do(t, "GET", "/images/"+repo+":"+tg+"/json", nil); resp.Status != 404 {
			t.Fatalf("round %d: removed tag still resolves", i)
		}
	}
	if status, _, msg := rmi(t, id, false); status != 200 {
		t.Fatalf("rmi: %d %s", status, msg)
	}
	if findImage(listImages(t, nil), id) != nil {
		t.Fatalf("removed image still listed")
	}
}
