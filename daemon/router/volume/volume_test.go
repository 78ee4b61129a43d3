package volume

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/volume"

	"github.com/pouchcontainer/pouch/daemon/server"
	svc "github.com/pouchcontainer/pouch/services/volume"
)

func newServer(t *testing.T) (*svc.Service, *httptest.Server) {
	t.Helper()
	s, err := svc.New(svc.Config{Root: filepath.Join(t.TempDir(), "volumes")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(New(s)))
	t.Cleanup(srv.Close)
	return s, srv
}

type response struct {
	status int
	body   string
}

func (r response) message() string {
	var m struct{ Message string }
	_ = json.Unmarshal([]byte(r.body), &m)
	return m.Message
}

func do(t *testing.T, srv *httptest.Server, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b)}
}

func filterQuery(f map[string][]string) string {
	b, _ := json.Marshal(f)
	return "?filters=" + url.QueryEscape(string(b))
}

// The JSON of a volume is Docker's, field for field.
func TestCreateAndInspectJSON(t *testing.T) {
	s, srv := newServer(t)
	r := do(t, srv, "POST", "/v1.51/volumes/create", map[string]any{"Name": "data", "Labels": map[string]string{"app": "web"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}) {
		t.Errorf("fields: %v", keys)
	}
	if string(raw["Options"]) != "null" || string(raw["Labels"]) != `{"app":"web"}` || string(raw["Scope"]) != `"local"` || string(raw["Driver"]) != `"local"` {
		t.Errorf("create: %s", r.body)
	}
	var v volume.Volume
	json.Unmarshal([]byte(r.body), &v)
	if created, err := time.Parse(time.RFC3339, v.CreatedAt); err != nil || time.Since(created) > time.Minute {
		t.Errorf("CreatedAt %q: %v", v.CreatedAt, err)
	}
	want, _ := s.Get("data")
	if v.Mountpoint != want.Mountpoint || !strings.HasSuffix(v.Mountpoint, "/volumes/data/_data") {
		t.Errorf("Mountpoint %q", v.Mountpoint)
	}
	if r := do(t, srv, "GET", "/volumes/data", nil); r.status != http.StatusOK {
		t.Errorf("inspect: %d %s", r.status, r.body)
	} else {
		var got volume.Volume
		json.Unmarshal([]byte(r.body), &got)
		if got.Name != "data" || got.CreatedAt != v.CreatedAt || got.Labels["app"] != "web" {
			t.Errorf("inspect: %s", r.body)
		}
	}

	// No labels: {}; options as given.
	r = do(t, srv, "POST", "/volumes/create", map[string]any{"Name": "cache", "Driver": "local",
		"DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=8m"}})
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"Labels":{}`) ||
		!strings.Contains(r.body, `"Options":{"device":"tmpfs","o":"size=8m","type":"tmpfs"}`) {
		t.Errorf("create with options: %d %s", r.status, r.body)
	}
	// The same again: the existing volume, 201 as in Docker.
	if r2 := do(t, srv, "POST", "/volumes/create", map[string]any{"Name": "cache"}); r2.status != http.StatusCreated || r2.body != r.body {
		t.Errorf("create of an existing volume: %d %s", r2.status, r2.body)
	}
	if r := do(t, srv, "POST", "/volumes/create", map[string]any{"Name": "cache", "DriverOpts": map[string]string{"type": "tmpfs", "device": "tmpfs"}}); r.status != http.StatusConflict {
		t.Errorf("create with other options: %d %s", r.status, r.body)
	}

	// An empty body: an anonymous volume.
	req, _ := http.NewRequest("POST", srv.URL+"/volumes/create", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var anon volume.Volume
	json.NewDecoder(resp.Body).Decode(&anon)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(anon.Name) != 64 {
		t.Errorf("anonymous create: %d %+v", resp.StatusCode, anon)
	}
	if _, ok := anon.Labels["com.docker.volume.anonymous"]; !ok {
		t.Errorf("anonymous labels: %v", anon.Labels)
	}
}

func TestBadRequests(t *testing.T) {
	s, srv := newServer(t)
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"POST", "/volumes/create", map[string]any{"Name": "a/b"}, 400, `create a/b: "a/b" includes invalid characters for a local volume name`},
		{"POST", "/volumes/create", map[string]any{"Name": "x"}, 400, "create x: volume name is too short, names should be at least two alphanumeric characters"},
		{"POST", "/volumes/create", map[string]any{"Name": "ok", "Driver": "flocker"}, 400, `plugin "flocker" not found`},
		{"POST", "/volumes/create", map[string]any{"Name": "ok", "DriverOpts": map[string]string{"bogus": "1"}}, 400, `create ok: invalid option: "bogus"`},
		{"POST", "/volumes/create", "{not json", 400, "invalid JSON"},
		{"POST", "/volumes/create", map[string]any{"Name": "ok", "ClusterVolumeSpec": map[string]any{}}, 503, "cluster volumes are not supported"},
		{"GET", "/volumes/nope", nil, 404, "get nope: no such volume"},
		{"DELETE", "/volumes/nope", nil, 404, "remove nope: no such volume"},
		{"DELETE", "/volumes/nope?force=maybe", nil, 400, "invalid boolean value"},
		{"PUT", "/volumes/nope?version=1", map[string]any{}, 503, "volume update only valid for cluster volumes"},
		{"GET", "/volumes" + filterQuery(map[string][]string{"until": {"1h"}}), nil, 400, "invalid filter 'until'"},
		{"GET", "/volumes" + filterQuery(map[string][]string{"dangling": {"maybe"}}), nil, 400, "invalid filter 'dangling=maybe'"},
		{"POST", "/volumes/prune" + filterQuery(map[string][]string{"until": {"1h"}}), nil, 400, "invalid filter 'until'"},
		{"POST", "/volumes/prune" + filterQuery(map[string][]string{"all": {"maybe"}}), nil, 400, "invalid filter 'all'"},
		{"POST", "/volumes/prune" + filterQuery(map[string][]string{"all": {"1", "0"}}), nil, 400, "only one value is expected"},
	} {
		var r response
		if s, ok := tt.body.(string); ok {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(s))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r = response{resp.StatusCode, string(b)}
		} else {
			r = do(t, srv, tt.method, tt.path, tt.body)
		}
		if r.status != tt.status || !strings.HasPrefix(r.message(), tt.msg) && !strings.Contains(r.message(), tt.msg) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, r.status, r.message(), tt.status, tt.msg)
		}
		if strings.HasSuffix(r.message(), ": invalid argument") || strings.HasSuffix(r.message(), ": not found") {
			t.Errorf("%s %s: class suffix in %q", tt.method, tt.path, r.message())
		}
	}
	if got := s.List(); len(got) != 0 {
		t.Errorf("bad requests created %d volumes", len(got))
	}
}

func listNames(t *testing.T, srv *httptest.Server, f map[string][]string) []string {
	t.Helper()
	q := ""
	if f != nil {
		q = filterQuery(f)
	}
	r := do(t, srv, "GET", "/volumes"+q, nil)
	if r.status != http.StatusOK {
		t.Fatalf("list %v: %d %s", f, r.status, r.body)
	}
	var lr volume.ListResponse
	if err := json.Unmarshal([]byte(r.body), &lr); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, v := range lr.Volumes {
		names = append(names, v.Name)
	}
	return names
}

func TestListFilters(t *testing.T) {
	s, srv := newServer(t)
	if r := do(t, srv, "GET", "/volumes", nil); r.body != `{"Volumes":[],"Warnings":null}`+"\n" {
		t.Errorf("empty list: %s", r.body)
	}
	for _, b := range []map[string]any{
		{"Name": "web-data", "Labels": map[string]string{"tier": "web", "env": "prod"}},
		{"Name": "db-data", "Labels": map[string]string{"tier": "db"}},
		{"Name": "scratch"},
	} {
		if r := do(t, srv, "POST", "/volumes/create", b); r.status != http.StatusCreated {
			t.Fatalf("create: %s", r.body)
		}
	}
	s.Reference("db-data", "c1")
	for _, tt := range []struct {
		f    map[string][]string
		want []string
	}{
		{nil, []string{"db-data", "scratch", "web-data"}},
		{map[string][]string{"name": {"data"}}, []string{"db-data", "web-data"}},
		{map[string][]string{"name": {"^db"}}, []string{"db-data"}},
		{map[string][]string{"name": {"scratch", "web"}}, []string{"scratch", "web-data"}},
		{map[string][]string{"label": {"tier"}}, []string{"db-data", "web-data"}},
		{map[string][]string{"label": {"tier=web", "env=prod"}}, []string{"web-data"}},
		{map[string][]string{"label": {"tier=web", "env=dev"}}, []string{}},
		{map[string][]string{"driver": {"local"}}, []string{"db-data", "scratch", "web-data"}},
		{map[string][]string{"driver": {"nfs"}}, []string{}},
		{map[string][]string{"dangling": {"true"}}, []string{"scratch", "web-data"}},
		{map[string][]string{"dangling": {"1"}, "name": {"web"}}, []string{"web-data"}},
		{map[string][]string{"dangling": {"false"}}, []string{"db-data"}},
	} {
		if got := listNames(t, srv, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("filters %v: %v, want %v", tt.f, got, tt.want)
		}
	}
	// The legacy filter form ({"name":{"db":true}}) works too.
	r := do(t, srv, "GET", "/volumes?filters="+url.QueryEscape(`{"name":{"db":true}}`), nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"db-data"`) || strings.Contains(r.body, "scratch") {
		t.Errorf("map-form filter: %d %s", r.status, r.body)
	}
}

func TestRemove(t *testing.T) {
	s, srv := newServer(t)
	do(t, srv, "POST", "/volumes/create", map[string]any{"Name": "used"})
	s.Reference("used", "c0ffee")
	r := do(t, srv, "DELETE", "/volumes/used", nil)
	if r.status != http.StatusConflict || r.message() != "remove used: volume is in use - [c0ffee]" {
		t.Errorf("remove in use: %d %q", r.status, r.message())
	}
	// force does not override in-use, as with Docker.
	if r := do(t, srv, "DELETE", "/volumes/used?force=1", nil); r.status != http.StatusConflict {
		t.Errorf("forced remove in use: %d %s", r.status, r.body)
	}
	s.Dereference("used", "c0ffee")
	if r := do(t, srv, "DELETE", "/volumes/used", nil); r.status != http.StatusNoContent {
		t.Errorf("remove: %d %s", r.status, r.body)
	}
	if r := do(t, srv, "DELETE", "/volumes/used?force=true", nil); r.status != http.StatusNoContent {
		t.Errorf("forced remove of a missing volume: %d %s", r.status, r.body)
	}
	if r := do(t, srv, "GET", "/volumes/used", nil); r.status != http.StatusNotFound {
		t.Errorf("inspect after remove: %d", r.status)
	}
}

func TestPrune(t *testing.T) {
	_, srv := newServer(t)
	prune := func(path string) volume.PruneReport {
		t.Helper()
		r := do(t, srv, "POST", path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, r.status, r.body)
		}
		var rep volume.PruneReport
		json.Unmarshal([]byte(r.body), &rep)
		if rep.VolumesDeleted == nil {
			t.Errorf("POST %s: VolumesDeleted is null: %s", path, r.body)
		}
		return rep
	}
	do(t, srv, "POST", "/volumes/create", map[string]any{"Name": "named", "Labels": map[string]string{"keep": "no"}})
	do(t, srv, "POST", "/volumes/create", map[string]any{"Name": "kept", "Labels": map[string]string{"keep": "yes"}})
	anon := do(t, srv, "POST", "/volumes/create", map[string]any{})
	var a volume.Volume
	json.Unmarshal([]byte(anon.body), &a)

	if rep := prune("/volumes/prune"); !slices.Equal(rep.VolumesDeleted, []string{a.Name}) {
		t.Errorf("default prune: %+v", rep)
	}
	if rep := prune("/volumes/prune" + filterQuery(map[string][]string{"all": {"true"}, "label!": {"keep=yes"}})); !slices.Equal(rep.VolumesDeleted, []string{"named"}) {
		t.Errorf("prune all, label!=keep=yes: %+v", rep)
	}
	if rep := prune("/volumes/prune"); len(rep.VolumesDeleted) != 0 {
		t.Errorf("default prune of named volumes: %+v", rep)
	}
	// Before API 1.42, prune removed named volumes too.
	if rep := prune("/v1.41/volumes/prune"); !slices.Equal(rep.VolumesDeleted, []string{"kept"}) {
		t.Errorf("prune at API 1.41: %+v", rep)
	}
}
