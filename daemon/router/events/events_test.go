package events

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/daemon/server"
	svc "github.com/pouchcontainer/pouch/services/events"
)

func newServer(t *testing.T) (*svc.Bus, *httptest.Server) {
	t.Helper()
	bus := svc.New(0)
	srv := httptest.NewServer(server.New(New(bus)))
	t.Cleanup(func() {
		bus.Close()
		srv.Close()
	})
	return bus, srv
}

func get(t *testing.T, srv *httptest.Server, path string, q url.Values) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path+"?"+q.Encode(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func publishSome(bus *svc.Bus) {
	bus.Network(eventtypes.ActionCreate, "net1", map[string]string{"name": "front", "type": "bridge"})
	bus.Container(eventtypes.ActionStart, "c0ffee", svc.ContainerAttributes("/web", "busybox", map[string]string{"tier": "front"}, nil))
	bus.Container(eventtypes.ActionStart, "d00d", svc.ContainerAttributes("/db", "busybox", nil, nil))
	bus.Image(eventtypes.ActionTag, "sha256:aaaa", map[string]string{"name": "busybox:v1"})
}

func TestPastEvents(t *testing.T) {
	bus, srv := newServer(t)
	publishSome(bus)
	until := fmt.Sprintf("%d.%09d", time.Now().Unix(), time.Now().Nanosecond())
	time.Sleep(time.Millisecond)
	bus.Network(eventtypes.ActionDestroy, "net1", map[string]string{"name": "front", "type": "bridge"}) // after until

	status, body := get(t, srv, "/v1.51/events", url.Values{"since": {"0"}, "until": {until}})
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if len(lines) != 4 {
		t.Fatalf("want the 4 events before until, got:\n%s", body)
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first["Type"] != "network" || first["status"] != nil {
		t.Errorf("network event: %s", lines[0])
	}
	if second["status"] != "start" || second["id"] != "c0ffee" || second["from"] != "busybox" || second["scope"] != "local" {
		t.Errorf("container event lacks the legacy fields of API 1.51: %s", lines[1])
	}

	// API 1.52 dropped the legacy fields.
	_, body = get(t, srv, "/v1.52/events", url.Values{"since": {"0"}, "until": {until}, "filters": {`{"type":["container"]}`}})
	if strings.Contains(body, `"status"`) || strings.Count(body, "\n") != 2 {
		t.Errorf("API 1.52:\n%s", body)
	}

	// Filters: container by name (a name attribute), label, event.
	for _, tc := range []struct{ filters, want string }{
		{`{"container":{"web":true}}`, "c0ffee"},
		{`{"container":{"d00d":true}}`, "d00d"},
		{`{"label":["tier=front"]}`, "c0ffee"},
		{`{"event":["tag"]}`, "sha256:aaaa"},
		{`{"network":["front"]}`, "net1"},
	} {
		_, body := get(t, srv, "/events", url.Values{"since": {"0"}, "until": {until}, "filters": {tc.filters}})
		var m eventtypes.Message
		lines := strings.Split(strings.TrimSpace(body), "\n")
		if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &m) != nil || m.Actor.ID != tc.want {
			t.Errorf("%s: want only %s, got:\n%s", tc.filters, tc.want, body)
		}
	}
}

func TestLiveEvent(t *testing.T) {
	bus, srv := newServer(t)
	publishSome(bus) // history: not sent without since
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?filters="+url.QueryEscape(`{"type":["network"]}`), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	for bus.Subscribers() == 0 {
		time.Sleep(time.Millisecond)
	}
	bus.Image(eventtypes.ActionTag, "sha256:bbbb", nil) // filtered out
	bus.Network(eventtypes.ActionConnect, "net1", map[string]string{"name": "front", "type": "bridge", "container": "c0ffee"})
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var m eventtypes.Message
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.Action != eventtypes.ActionConnect || m.Actor.Attributes["container"] != "c0ffee" {
		t.Errorf("live event: %s (%v)", line, err)
	}
	// The client goes away: the subscription ends.
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for bus.Subscribers() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := bus.Subscribers(); n != 0 {
		t.Errorf("%d subscribers after the client left", n)
	}
}

func TestUntilInFutureEndsStream(t *testing.T) {
	bus, srv := newServer(t)
	go func() {
		for bus.Subscribers() == 0 {
			time.Sleep(time.Millisecond)
		}
		bus.Network(eventtypes.ActionCreate, "live", nil)
	}()
	began := time.Now()
	status, body := get(t, srv, "/events", url.Values{"until": {"2020-01-01T00:00:00Z"}})
	if status != 200 || body != "" {
		t.Errorf("until in the past, no since: %d %q", status, body)
	}
	// Until 300 ms from now, as a duration would not allow: a timestamp.
	u := time.Now().Add(300 * time.Millisecond)
	status, body = get(t, srv, "/events", url.Values{"until": {fmt.Sprintf("%d.%09d", u.Unix(), u.Nanosecond())}})
	if status != 200 || !strings.Contains(body, `"live"`) || time.Since(began) < 300*time.Millisecond {
		t.Errorf("until in the future: %d %q after %v", status, body, time.Since(began))
	}
}

func TestBadRequests(t *testing.T) {
	_, srv := newServer(t)
	for _, q := range []url.Values{
		{"since": {"yesterday"}},
		{"until": {"1.x"}},
		{"since": {"1700000100"}, "until": {"1700000000"}},
		{"filters": {"{bad"}},
		{"filters": {`{"nope":["x"]}`}},
	} {
		if status, body := get(t, srv, "/events", q); status != 400 || !strings.Contains(body, "message") {
			t.Errorf("%v: %d %s", q, status, body)
		}
	}
}

func TestEventTime(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"0":                    time.Unix(0, 0),
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.25":        time.Unix(1700000000, 25e7),
		"2024-01-02T03:04:05Z": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"10m":                  now.Add(-10 * time.Minute),
	} {
		got, err := eventTime(in, now)
		if err != nil || !got.Equal(want) || got.IsZero() != want.IsZero() {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
}

func TestLegacyFields(t *testing.T) {
	for path, want := range map[string]bool{"/events": true, "/v1.24/events": true, "/v1.51/events": true, "/v1.52/events": false, "/v2.0/events": false} {
		if got := legacyFields(path); got != want {
			t.Errorf("%s: %v", path, got)
		}
	}
}
