package container

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// logsServer is a fake daemon over HTTP, so that the real Engine API
// client turns the logs flags into query parameters.
func logsServer(t *testing.T) (*client.Client, func() url.Values) {
	t.Helper()
	var mu sync.Mutex
	var query url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			_, _ = io.WriteString(w, "OK")
		case strings.HasSuffix(r.URL.Path, "/containers/web/json"):
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"Id":"abc123","Config":{"Tty":false}}`)
		case strings.HasSuffix(r.URL.Path, "/containers/abc123/logs"):
			mu.Lock()
			query = r.URL.Query()
			mu.Unlock()
			writeFrame(w, 1, "out line\n")
			writeFrame(w, 2, "err line\n")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.WithHost("tcp://"+srv.Listener.Addr().String()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, func() url.Values { mu.Lock(); defer mu.Unlock(); return query }
}

func TestLogsDemultiplexesAndPassesOptions(t *testing.T) {
	c, query := logsServer(t)
	deps, out, errOut := testDeps(c, "")
	if err := execute(t, newLogsCommand(deps), "-f", "-t", "--tail", "5", "web"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "out line\n")
	assertEqual(t, "stderr", errOut.String(), "err line\n")
	q := query()
	for k, want := range map[string]string{"stdout": "1", "stderr": "1", "follow": "1", "timestamps": "1", "tail": "5"} {
		if got := q.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if q.Has("since") || q.Has("until") {
		t.Errorf("since/until sent unasked: %v", q)
	}
}

func TestLogsSinceUntil(t *testing.T) {
	tests := []struct {
		value string
		check func(t *testing.T, got string)
	}{
		{"2013-01-02T13:23:37Z", exactly("1357133017.000000000")},
		{"2013-01-02T13:23:37.5+01:00", exactly("1357129417.500000000")},
		{"1700000000", exactly("1700000000")},
		{"1700000000.25", exactly("1700000000.25")},
		{"10m", secondsAgo(600)},
		{"1h30m", secondsAgo(5400)},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			for _, flag := range []string{"since", "until"} {
				c, query := logsServer(t)
				deps, _, _ := testDeps(c, "")
				if err := execute(t, newLogsCommand(deps), "--"+flag, tt.value, "web"); err != nil {
					t.Fatal(err)
				}
				tt.check(t, query().Get(flag))
			}
		})
	}
}

func TestLogsRejectsBadTimes(t *testing.T) {
	c, query := logsServer(t)
	deps, _, _ := testDeps(c, "")
	err := execute(t, newLogsCommand(deps), "--since", "yesterday", "web")
	if err == nil || !strings.Contains(err.Error(), `invalid value for "since"`) {
		t.Fatalf("got %v", err)
	}
	if query() != nil {
		t.Error("the logs request was sent despite the bad value")
	}
}

func TestLogsWithTTYIsNotDemultiplexed(t *testing.T) {
	fake := &fakeClient{
		inspectFunc: func(string, client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
			return client.ContainerInspectResult{Container: container.InspectResponse{ID: "abc", Config: &container.Config{Tty: true}}}, nil
		},
		logsFunc: func(string, client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
			return io.NopCloser(strings.NewReader("raw tty output\r\n")), nil
		},
	}
	deps, out, _ := testDeps(fake, "")
	if err := execute(t, newLogsCommand(deps), "web"); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "stdout", out.String(), "raw tty output\r\n")
}

func exactly(want string) func(*testing.T, string) {
	return func(t *testing.T, got string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func secondsAgo(d int64) func(*testing.T, string) {
	return func(t *testing.T, got string) {
		t.Helper()
		n, err := strconv.ParseInt(got, 10, 64)
		if err != nil {
			t.Fatalf("not Unix seconds: %q", got)
		}
		if want := time.Now().Unix() - d; n < want-5 || n > want+5 {
			t.Errorf("got %d, want about %d", n, want)
		}
	}
}
