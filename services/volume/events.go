package volume

import (
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/services/events"
	"github.com/pouchcontainer/pouch/volume/local"
)

// Volume events, as Docker publishes them: the actor is the volume's name,
// with the attribute "driver", for create (only when a volume is made, not
// when an existing one is returned) and destroy; prune has no actor and
// the attribute "reclaimed" (bytes). mount and unmount are the container
// service's to publish, with the container and the destination.

// SetEvents wires in the event bus. Without one, nothing is published.
func (s *Service) SetEvents(p events.Publisher) {
	s.mu.Lock()
	s.events = p
	s.mu.Unlock()
}

func (s *Service) publisher() events.Publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// publishLocked publishes an event about volume name. Callers hold s.mu:
// the bus never blocks.
func (s *Service) publishLocked(action eventtypes.Action, name string) {
	events.Publish(s.events, events.VolumeEvent(action, name, map[string]string{"driver": local.DriverName}))
}
