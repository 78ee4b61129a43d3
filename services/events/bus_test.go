package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/pkg/filters"
)

// clock is a settable clock for a bus.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestBus(history int) (*Bus, *clock) {
	c := &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := New(history)
	b.now = c.now
	return b, c
}

// drain reads what C holds until it is closed or nothing comes for a while.
func drain(t *testing.T, s *Subscription) (got []string, closed bool) {
	t.Helper()
	for {
		select {
		case m, ok := <-s.C:
			if !ok {
				return got, true
			}
			got = append(got, m.Actor.ID)
		case <-time.After(50 * time.Millisecond):
			return got, false
		}
	}
}

func TestPublishStampsAndKeepsOrder(t *testing.T) {
	b, c := newTestBus(8)
	b.Network(eventtypes.ActionCreate, "n1", map[string]string{"name": "a"})
	c.t = c.t.Add(-time.Hour) // the clock steps back
	b.Publish(eventtypes.Message{Type: eventtypes.ImageEventType, Action: eventtypes.ActionTag, Actor: eventtypes.Actor{ID: "i1"}})
	s := b.Subscribe(context.Background(), time.Unix(1, 0), time.Time{}, nil)
	defer s.Close()
	var ms []eventtypes.Message
	for range 2 {
		ms = append(ms, <-s.C)
	}
	if ms[0].TimeNano != time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() || ms[0].Time != ms[0].TimeNano/1e9 {
		t.Errorf("first stamp: %d %d", ms[0].Time, ms[0].TimeNano)
	}
	if ms[1].TimeNano != ms[0].TimeNano+1 {
		t.Errorf("stamps went back: %d then %d", ms[0].TimeNano, ms[1].TimeNano)
	}
	if ms[1].Scope != "local" || ms[1].Actor.Attributes == nil {
		t.Errorf("defaults not filled: %+v", ms[1])
	}
}

func TestPublishCopiesAttributes(t *testing.T) {
	b, _ := newTestBus(8)
	attrs := map[string]string{"name": "a"}
	b.Network(eventtypes.ActionCreate, "n1", attrs)
	attrs["name"] = "changed"
	s := b.Subscribe(context.Background(), time.Unix(1, 0), time.Time{}, nil)
	defer s.Close()
	if m := <-s.C; m.Actor.Attributes["name"] != "a" {
		t.Errorf("the publisher's map leaked into the history: %v", m.Actor.Attributes)
	}
}

func TestSubscribeHistory(t *testing.T) {
	b, c := newTestBus(4)
	base := c.t
	for i := range 6 { // the first two fall out of the ring
		c.t = base.Add(time.Duration(i) * time.Second)
		b.Network(eventtypes.ActionCreate, fmt.Sprint("n", i), nil)
	}
	c.t = base.Add(time.Minute)
	ctx := context.Background()
	cases := []struct {
		name         string
		since, until time.Time
		want         []string
		closed       bool
	}{
		{"neither: live only", time.Time{}, time.Time{}, nil, false},
		{"since the epoch", time.Unix(0, 0), time.Time{}, []string{"n2", "n3", "n4", "n5"}, false},
		{"since 1970-01-01T00:00:01", time.Unix(1, 0), time.Time{}, []string{"n2", "n3", "n4", "n5"}, false},
		{"since is inclusive", base.Add(4 * time.Second), time.Time{}, []string{"n4", "n5"}, false},
		{"until only, past", time.Time{}, base.Add(3 * time.Second), []string{"n2", "n3"}, true},
		{"both, past", base.Add(3 * time.Second), base.Add(4 * time.Second), []string{"n3", "n4"}, true},
		{"until before everything", time.Time{}, base.Add(-time.Second), nil, true},
	}
	for _, tc := range cases {
		s := b.Subscribe(ctx, tc.since, tc.until, nil)
		got, closed := drain(t, s)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || closed != tc.closed {
			t.Errorf("%s: got %v closed %v, want %v closed %v", tc.name, got, closed, tc.want, tc.closed)
		}
		s.Close()
	}
	if n := b.Subscribers(); n != 0 {
		t.Errorf("%d subscribers left after Close", n)
	}
}

func TestSubscribeFilterAndLive(t *testing.T) {
	b, c := newTestBus(16)
	b.Image(eventtypes.ActionTag, "i0", nil)
	b.Network(eventtypes.ActionCreate, "n0", nil)
	onlyNetworks := func(m eventtypes.Message) bool { return m.Type == eventtypes.NetworkEventType }
	s := b.Subscribe(context.Background(), time.Unix(1, 0), time.Time{}, onlyNetworks)
	defer s.Close()
	c.t = c.t.Add(time.Second)
	b.Image(eventtypes.ActionTag, "i1", nil)
	b.Network(eventtypes.ActionDestroy, "n1", nil)
	got, closed := drain(t, s)
	if fmt.Sprint(got) != "[n0 n1]" || closed {
		t.Errorf("got %v closed %v", got, closed)
	}
}

func TestSubscribeUntilInFutureEndsStream(t *testing.T) {
	b := New(16) // real clock: the timer must fire
	b.Network(eventtypes.ActionCreate, "before", nil)
	until := time.Now().Add(200 * time.Millisecond)
	s := b.Subscribe(context.Background(), time.Now().Add(-time.Minute), until, nil)
	b.Network(eventtypes.ActionCreate, "live", nil)
	var got []string
	timeout := time.After(5 * time.Second)
	for done := false; !done; {
		select {
		case m, ok := <-s.C:
			if !ok {
				done = true
				break
			}
			got = append(got, m.Actor.ID)
		case <-timeout:
			t.Fatal("the stream did not end when until passed")
		}
	}
	if fmt.Sprint(got) != "[before live]" {
		t.Errorf("got %v", got)
	}
	if time.Now().Before(until) {
		t.Error("the stream ended before until")
	}
	// Published after until (the bus's clock): not delivered.
	b2, c := newTestBus(4)
	s2 := b2.Subscribe(context.Background(), time.Time{}, c.t.Add(time.Hour), nil)
	defer s2.Close()
	c.t = c.t.Add(2 * time.Hour)
	b2.Network(eventtypes.ActionCreate, "late", nil)
	if got, _ := drain(t, s2); len(got) != 0 {
		t.Errorf("an event after until was delivered: %v", got)
	}
}

func TestSubscribeContextCancel(t *testing.T) {
	b, _ := newTestBus(4)
	ctx, cancel := context.WithCancel(context.Background())
	s := b.Subscribe(ctx, time.Time{}, time.Time{}, nil)
	cancel()
	select {
	case _, ok := <-s.C:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the context did not end the subscription")
	}
	if s.Err() != nil || b.Subscribers() != 0 {
		t.Errorf("err %v, %d subscribers", s.Err(), b.Subscribers())
	}
	// Already cancelled: closed at once, and never registered.
	s = b.Subscribe(ctx, time.Time{}, time.Time{}, nil)
	if _, closed := drain(t, s); !closed || b.Subscribers() != 0 {
		t.Errorf("subscribing with a done context: closed %v, %d subscribers", closed, b.Subscribers())
	}
}

func TestSlowSubscriberIsDroppedPublisherNeverBlocks(t *testing.T) {
	b, _ := newTestBus(4)
	slow := b.Subscribe(context.Background(), time.Time{}, time.Time{}, nil)
	fast := b.Subscribe(context.Background(), time.Time{}, time.Time{}, nil)
	defer fast.Close()
	var read atomic.Int64
	finished := make(chan struct{})
	go func() {
		for range fast.C {
			read.Add(1)
		}
		close(finished)
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range QueueSize * 3 {
			b.Network(eventtypes.ActionCreate, fmt.Sprint(i), nil)
			// A reader that keeps up is never dropped.
			for i%64 == 63 && read.Load() < int64(i+1) {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the publisher blocked on a subscriber that does not read")
	}
	got, closed := drain(t, slow)
	if len(got) != QueueSize || !closed || slow.Err() != ErrSlowSubscriber {
		t.Errorf("slow subscriber: %d events, closed %v, err %v", len(got), closed, slow.Err())
	}
	b.Close()
	<-finished
	if n := read.Load(); n != QueueSize*3 {
		t.Errorf("the reading subscriber got %d of %d events", n, QueueSize*3)
	}
	if fast.Err() != nil {
		t.Errorf("reading subscriber: %v", fast.Err())
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	b, _ := newTestBus(4)
	b.Network(eventtypes.ActionCreate, "n0", nil)
	s := b.Subscribe(context.Background(), time.Time{}, time.Time{}, nil)
	b.Close()
	if _, closed := drain(t, s); !closed {
		t.Fatal("Close left a subscription open")
	}
	s.Close() // twice is fine
	// After Close: history still answers, nothing stays open.
	b.Network(eventtypes.ActionCreate, "n1", nil)
	s = b.Subscribe(context.Background(), time.Unix(1, 0), time.Time{}, nil)
	if got, closed := drain(t, s); fmt.Sprint(got) != "[n0 n1]" || !closed {
		t.Errorf("after Close: %v closed %v", got, closed)
	}
}

func TestNilPublisher(t *testing.T) {
	var b *Bus
	b.Publish(eventtypes.Message{}) // must not panic
	b.Container(eventtypes.ActionStart, "c", nil)
	b.Close()
	Publish(nil, eventtypes.Message{})
}

func TestContainerAttributes(t *testing.T) {
	got := ContainerAttributes("/web", "busybox", map[string]string{"name": "label-loses", "exitCode": "label-wins", "tier": "front"},
		map[string]string{"exitCode": "0", "execDuration": "1"})
	want := map[string]string{"name": "web", "image": "busybox", "exitCode": "label-wins", "execDuration": "1", "tier": "front"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := ContainerAttributes("web", "", nil, nil); fmt.Sprint(got) != "map[name:web]" {
		t.Errorf("no image: %v", got)
	}
}

func TestLegacyJSON(t *testing.T) {
	m := ContainerEvent(eventtypes.ActionStart, "abc", map[string]string{"image": "busybox", "name": "web"})
	m.Time, m.TimeNano = 1700000000, 1700000000123456789
	b, err := json.Marshal(WithLegacy(m))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"start","id":"abc","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"image":"busybox","name":"web"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}`
	if string(b) != want {
		t.Errorf("container:\n got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(WithLegacy(ImageEvent(eventtypes.ActionTag, "sha256:1", map[string]string{"name": "x:1"})))
	if want := `{"status":"tag","id":"sha256:1","Type":"image","Action":"tag","Actor":{"ID":"sha256:1","Attributes":{"name":"x:1"}},"scope":"local"}`; string(b) != want {
		t.Errorf("image:\n got %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(WithLegacy(NetworkEvent(eventtypes.ActionCreate, "n", map[string]string{"name": "a", "type": "bridge"})))
	if want := `{"Type":"network","Action":"create","Actor":{"ID":"n","Attributes":{"name":"a","type":"bridge"}},"scope":"local"}`; string(b) != want {
		t.Errorf("network:\n got %s\nwant %s", b, want)
	}
	// Clients decode it as moby's message.
	var back eventtypes.Message
	if err := json.Unmarshal(mustJSON(t, WithLegacy(m)), &back); err != nil || back.Actor.ID != "abc" || back.TimeNano != m.TimeNano {
		t.Errorf("round trip: %+v %v", back, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFilter(t *testing.T) {
	ctr := ContainerEvent(eventtypes.ActionStart, "c0ffee00", ContainerAttributes("web", "busybox", map[string]string{"tier": "front"}, nil))
	die := ContainerEvent(eventtypes.ActionDie, "c0ffee00", ContainerAttributes("web", "busybox", nil, map[string]string{"exitCode": "0"}))
	exec := ContainerEvent("exec_start: sh -c true", "c0ffee00", ContainerAttributes("web", "busybox", nil, map[string]string{"execID": "e1"}))
	health := ContainerEvent("health_status: healthy", "c0ffee00", ContainerAttributes("web", "busybox", nil, nil))
	tag := ImageEvent(eventtypes.ActionTag, "sha256:aaaa", map[string]string{"name": "example.com/app:v1", "maintainer": "me"})
	pull := ImageEvent(eventtypes.ActionPull, "busybox:latest", map[string]string{"name": "busybox"})
	netc := NetworkEvent(eventtypes.ActionConnect, "beef0001", map[string]string{"name": "front", "type": "bridge", "container": "c0ffee00"})
	vol := VolumeEvent(eventtypes.ActionCreate, "data", map[string]string{"driver": "local"})
	all := []eventtypes.Message{ctr, die, exec, health, tag, pull, netc, vol}
	names := []string{"ctr", "die", "exec", "health", "tag", "pull", "netc", "vol"}

	cases := []struct {
		filters string
		want    string
	}{
		{`{}`, "[ctr die exec health tag pull netc vol]"},
		{`{"type":{"container":true}}`, "[ctr die exec health]"},
		{`{"type":{"network":true,"volume":true}}`, "[netc vol]"},
		{`{"event":{"die":true}}`, "[die]"},
		{`{"event":{"exec_start":true}}`, "[exec]"},
		{`{"event":{"health_status":true,"tag":true}}`, "[health tag]"},
		{`{"container":{"web":true}}`, "[ctr die exec health]"},
		{`{"container":{"c0ffee":true}}`, "[ctr die exec health]"},
		{`{"container":{"other":true}}`, "[]"},
		{`{"container":{"we":true}}`, "[ctr die exec health]"}, // a prefix, as Docker
		{`{"image":{"busybox":true}}`, "[ctr die exec health pull]"},
		{`{"image":{"busybox:latest":true}}`, "[pull]"},
		{`{"image":{"example.com/app":true}}`, "[tag]"},
		{`{"image":{"sha256:aaaa":true}}`, "[tag]"},
		{`{"label":{"tier":true}}`, "[ctr]"},
		{`{"label":{"tier=front":true}}`, "[ctr]"},
		{`{"label":{"tier=back":true}}`, "[]"},
		{`{"label":{"tier":true,"name=web":true}}`, "[ctr]"},
		{`{"label":{"tier":true,"maintainer":true}}`, "[]"},
		{`{"network":{"front":true}}`, "[netc]"},
		{`{"network":{"beef":true}}`, "[netc]"},
		{`{"volume":{"data":true}}`, "[vol]"},
		{`{"scope":{"local":true}}`, "[ctr die exec health tag pull netc vol]"},
		{`{"scope":{"swarm":true}}`, "[]"},
		{`{"type":["container"],"event":["start","die"]}`, "[ctr die]"},
		{`{"daemon":{"x":true}}`, "[]"},
	}
	for _, tc := range cases {
		args, err := filters.Parse(tc.filters)
		if err != nil {
			t.Fatal(err)
		}
		match, err := NewFilter(args)
		if err != nil {
			t.Errorf("%s: %v", tc.filters, err)
			continue
		}
		got := []string{}
		for i, m := range all {
			if match == nil || match(m) {
				got = append(got, names[i])
			}
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("%s: got %v, want %s", tc.filters, got, tc.want)
		}
	}
	args, _ := filters.Parse(`{"nope":{"x":true}}`)
	if _, err := NewFilter(args); err == nil {
		t.Error("an unknown filter was accepted")
	}
}
