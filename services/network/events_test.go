package network

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	eventtypes "github.com/moby/moby/api/types/events"
)

type eventRecorder struct {
	mu sync.Mutex
	ms []eventtypes.Message
}

func (r *eventRecorder) Publish(m eventtypes.Message) {
	r.mu.Lock()
	r.ms = append(r.ms, m)
	r.mu.Unlock()
}

// A disconnect is published only for an endpoint that was connected:
// plugged, or restored after a daemon restart; never for the rollback of
// one that was only reserved.
func TestDisconnectEventOnlyForConnectedEndpoints(t *testing.T) {
	user := userNet("front", "10.1.0.0/24")
	s := testService(t, Config{}, user)
	rec := &eventRecorder{}
	s.SetEvents(rec)
	ctx := context.Background()

	ep, err := s.Reserve(JoinRequest{ContainerID: id("c1"), Name: "a", Network: "front", IfName: "eth0"})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Release(ctx, ep)
	if len(rec.ms) != 0 {
		t.Fatalf("events for an endpoint never plugged: %+v", rec.ms)
	}

	restored := &Endpoint{NetworkID: user.ID, NetworkName: "front", ContainerID: id("c2"), Name: "b",
		IfName: "eth0", IP: netip.MustParseAddr("10.1.0.7"), PrefixLen: 24}
	if err := s.Restore(restored); err != nil {
		t.Fatal(err)
	}
	// The container service releases the copy it keeps in its record.
	cp := *restored
	_ = s.Release(ctx, &cp)
	if len(rec.ms) != 1 {
		t.Fatalf("want one disconnect, got %+v", rec.ms)
	}
	m := rec.ms[0]
	if m.Type != eventtypes.NetworkEventType || m.Action != eventtypes.ActionDisconnect || m.Actor.ID != user.ID ||
		m.Actor.Attributes["name"] != "front" || m.Actor.Attributes["type"] != "bridge" || m.Actor.Attributes["container"] != id("c2") {
		t.Errorf("disconnect event: %+v", m)
	}

	// No publisher: nothing to do, nothing breaks.
	s.SetEvents(nil)
	if err := s.Restore(restored); err != nil {
		t.Fatal(err)
	}
	_ = s.Release(ctx, restored)
}
