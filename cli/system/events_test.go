package system

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/pouchcontainer/pouch/cli/command"
)

// fakeEventsClient serves a fixed list of events, then EOF (or err).
type fakeEventsClient struct {
	fakeClient
	events []events.Message
	err    error
	got    client.EventsListOptions
}

func (f *fakeEventsClient) Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult {
	f.got = opts
	msgs := make(chan events.Message)
	errs := make(chan error, 1)
	go func() {
		for _, m := range f.events {
			select {
			case msgs <- m:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
		if f.err != nil {
			errs <- f.err
		} else {
			errs <- io.EOF
		}
	}()
	return client.EventsResult{Messages: msgs, Err: errs}
}

func sampleEvents() []events.Message {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return []events.Message{
		{Type: "container", Action: "start", Actor: events.Actor{ID: "abc123", Attributes: map[string]string{"name": "web", "image": "busybox"}},
			Scope: "local", Time: ts.Unix(), TimeNano: ts.UnixNano()},
		{Type: "network", Action: "create", Actor: events.Actor{ID: "net1"}, Scope: "local", Time: ts.Unix() + 1},
	}
}

func TestEventsPretty(t *testing.T) {
	fake := &fakeEventsClient{events: sampleEvents()}
	deps, out, _ := testDeps(fake)
	if err := execute(t, newEventsCommand(deps), "--since", "1h", "--until", "1700000000", "-f", "type=container", "--filter", "event=start"); err != nil {
		t.Fatal(err)
	}
	// In local time, as docker prints it ("2024-01-01T00:00:00.000000000Z" in UTC).
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	want := ts.Local().Format(rfc3339NanoFixed) + " container start abc123 (image=busybox, name=web)\n" +
		ts.Add(time.Second).Local().Format(rfc3339NanoFixed) + " network create net1\n"
	if time.Local == time.UTC && !strings.HasPrefix(want, "2024-01-01T00:00:00.000000000Z container") {
		t.Fatalf("bad expectation %q", want)
	}
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if fake.got.Since != "1h" || fake.got.Until != "1700000000" ||
		!fake.got.Filters["type"]["container"] || !fake.got.Filters["event"]["start"] {
		t.Errorf("options sent: %+v", fake.got)
	}
}

func TestEventsFormat(t *testing.T) {
	fake := &fakeEventsClient{events: sampleEvents()}
	deps, out, _ := testDeps(fake)
	if err := execute(t, newEventsCommand(deps), "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "container start web\nnetwork create <no value>\n" {
		t.Errorf("template: %q", out)
	}
	deps, out, _ = testDeps(&fakeEventsClient{events: sampleEvents()[:1]})
	if err := execute(t, newEventsCommand(deps), "--format", "json"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), `{"Type":"container","Action":"start","Actor":{"ID":"abc123"`) || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("json: %q", out)
	}
}

func TestEventsErrors(t *testing.T) {
	deps, out, _ := testDeps(&fakeEventsClient{events: sampleEvents()})
	err := execute(t, newEventsCommand(deps), "--format", "{{.Nope}}")
	var status command.StatusError
	if !errors.As(err, &status) || status.StatusCode != 64 || !strings.Contains(err.Error(), "Error parsing format") || out.Len() != 0 {
		t.Errorf("bad template: %v, output %q", err, out)
	}
	boom := errors.New("daemon went away")
	deps, _, _ = testDeps(&fakeEventsClient{err: boom})
	if err := execute(t, newEventsCommand(deps)); !errors.Is(err, boom) {
		t.Errorf("stream error: %v", err)
	}
	deps, _, _ = testDeps(&fakeEventsClient{})
	if err := execute(t, newEventsCommand(deps), "extra"); err == nil {
		t.Error("an argument was accepted")
	}
	deps, _, _ = testDeps(&fakeEventsClient{})
	if err := execute(t, newEventsCommand(deps), "-f", "novalue"); err == nil {
		t.Error("a filter without = was accepted")
	}
}
