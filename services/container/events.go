package container

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"

	eventsvc "github.com/pouchcontainer/pouch/services/events"
)

// EventPublisher receives the service's events (the daemon's event bus).
type EventPublisher interface {
	Publish(m events.Message)
}

// SetEvents gives the service its event bus.
func (s *Service) SetEvents(p EventPublisher) { s.events = p }

// publish sends a container event with Docker's attributes: the image as
// the user named it, the container's name and labels, and extra.
func (s *Service) publish(c *Container, action string, extra map[string]string) {
	if s.events == nil {
		return
	}
	c.mu.RLock()
	var labels map[string]string
	if c.Config != nil {
		labels = c.Config.Labels
	}
	attrs := eventsvc.ContainerAttributes(c.Name, c.Image, labels, extra)
	id := c.ID
	c.mu.RUnlock()
	s.events.Publish(events.Message{
		Type: events.ContainerEventType, Action: events.Action(action), Scope: "local",
		Actor: events.Actor{ID: id, Attributes: attrs},
	})
}

// publishVolume sends a volume event about a container's use of it.
func (s *Service) publishVolume(action, name string, attrs map[string]string) {
	if s.events == nil {
		return
	}
	s.events.Publish(events.Message{
		Type: events.VolumeEventType, Action: events.Action(action), Scope: "local",
		Actor: events.Actor{ID: name, Attributes: attrs},
	})
}

// invalidArg is an invalid-argument error with a formatted message.
func invalidArg(format string, args ...any) error {
	return fmt.Errorf(strings.TrimSuffix(format, ".")+": %w", append(args, errdefs.ErrInvalidArgument)...)
}
