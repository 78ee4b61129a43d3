package network

import (
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/services/events"
)

// Network events, as Docker publishes them: the actor is the network ID,
// the attributes its "name" and "type" (the driver), and "container" (the
// container's ID) for connect and disconnect. A container connects when
// its endpoint is plugged (at start, or when a running container is
// connected) and disconnects when a plugged endpoint is released (at
// exit, or when it is disconnected).

// SetEvents wires in the event bus. Without one, nothing is published.
func (s *Service) SetEvents(p events.Publisher) {
	s.mu.Lock()
	s.events = p
	s.mu.Unlock()
}

// publishLocked publishes an event about a network (its id, name and
// driver); container, when set, is the container connecting or
// disconnecting. Callers hold s.mu (read or write): the bus never blocks.
func (s *Service) publishLocked(action eventtypes.Action, id, name, driver, container string) {
	if s.events == nil {
		return
	}
	attrs := map[string]string{"name": name, "type": driver}
	if container != "" {
		attrs["container"] = container
	}
	s.events.Publish(events.NetworkEvent(action, id, attrs))
}
