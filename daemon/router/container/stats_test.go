package container

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/pouchcontainer/pouch/daemon/server"
	svc "github.com/pouchcontainer/pouch/services/container"
)

// fakeStats records what the router asked and answers with canned data.
type fakeStats struct {
	opts    svc.StatsOptions
	psArgs  string
	update  ctypes.UpdateConfig
	samples int
}

func (f *fakeStats) Stats(_ context.Context, ref string, opts svc.StatsOptions, emit func(*ctypes.StatsResponse) error) error {
	f.opts = opts
	if ref != "web" {
		return fmt.Errorf("No such container: %s: %w", ref, errdefs.ErrNotFound)
	}
	for i := 0; i < f.samples; i++ {
		if err := emit(&ctypes.StatsResponse{ID: "abc", PidsStats: ctypes.PidsStats{Current: uint64(i)}}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStats) Top(_ context.Context, ref, psArgs string) (*ctypes.TopResponse, error) {
	f.psArgs = psArgs
	return &ctypes.TopResponse{Titles: []string{"PID"}, Processes: [][]string{{"1"}}}, nil
}

func (f *fakeStats) Update(_ context.Context, ref string, u ctypes.UpdateConfig) ([]string, error) {
	f.update = u
	return []string{}, nil
}

func serve(t *testing.T, b StatsBackend, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	srv := server.New(NewStats(b))
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

func TestStatsRouteOptions(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  svc.StatsOptions
	}{
		{"", svc.StatsOptions{Stream: true}}, // streaming unless told otherwise
		{"stream=1", svc.StatsOptions{Stream: true}},
		{"stream=false", svc.StatsOptions{}},
		{"stream=0&one-shot=1", svc.StatsOptions{OneShot: true}},
		{"stream=", svc.StatsOptions{}},
	} {
		f := &fakeStats{samples: 2}
		w := serve(t, f, "GET", "/v1.51/containers/web/stats?"+tc.query, "")
		if w.Code != http.StatusOK || f.opts != tc.want || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%q: %d, options %+v, want %+v", tc.query, w.Code, f.opts, tc.want)
		}
		// One JSON document per sample.
		dec := json.NewDecoder(w.Body)
		for i := 0; i < 2; i++ {
			var s ctypes.StatsResponse
			if err := dec.Decode(&s); err != nil || s.PidsStats.Current != uint64(i) {
				t.Errorf("%q: sample %d: %+v %v", tc.query, i, s, err)
			}
		}
	}
	if w := serve(t, &fakeStats{}, "GET", "/containers/web/stats?stream=perhaps", ""); w.Code != http.StatusBadRequest {
		t.Errorf("bad boolean: %d", w.Code)
	}
	// Errors before the first sample are statuses.
	if w := serve(t, &fakeStats{}, "GET", "/containers/ghost/stats", ""); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "No such container: ghost") {
		t.Errorf("unknown container: %d %s", w.Code, w.Body)
	}
}

func TestTopAndUpdateRoutes(t *testing.T) {
	f := &fakeStats{}
	w := serve(t, f, "GET", "/containers/web/top?ps_args=-o+pid,comm", "")
	if w.Code != http.StatusOK || f.psArgs != "-o pid,comm" || strings.TrimSpace(w.Body.String()) != `{"Processes":[["1"]],"Titles":["PID"]}` {
		t.Errorf("top: %d %s (ps args %q)", w.Code, w.Body, f.psArgs)
	}
	w = serve(t, f, "POST", "/containers/web/update", `{"Memory":67108864,"RestartPolicy":{"Name":"always"}}`)
	if w.Code != http.StatusOK || f.update.Memory != 64<<20 || f.update.RestartPolicy.Name != "always" || strings.TrimSpace(w.Body.String()) != `{"Warnings":[]}` {
		t.Errorf("update: %d %s (%+v)", w.Code, w.Body, f.update)
	}
	if w = serve(t, f, "POST", "/containers/web/update", `{"Memory":`); w.Code != http.StatusBadRequest {
		t.Errorf("bad JSON: %d", w.Code)
	}
}
