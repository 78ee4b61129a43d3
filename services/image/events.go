package image

import (
	"context"
	"maps"
	"strconv"

	eventtypes "github.com/moby/moby/api/types/events"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/services/events"
)

// Image events, as Docker publishes them: the actor is the image ID,
// except for pull and push, whose actor is the familiar reference
// ("busybox:latest"); the attributes are the image's labels and "name":
// the familiar repository for pull and push, the new name for tag, the
// name removed for untag, the loaded name for load (the ID for an image
// loaded without one), the ID for delete and save.

// SetEvents wires in the event bus. Without one, nothing is published.
func (s *Service) SetEvents(p events.Publisher) {
	s.mu.Lock()
	s.events = p
	s.mu.Unlock()
}

// publish publishes an image event with the image's labels and name.
func (s *Service) publish(action eventtypes.Action, id, name string, labels map[string]string) {
	s.mu.Lock()
	p := s.events
	s.mu.Unlock()
	if p == nil {
		return
	}
	attrs := make(map[string]string, len(labels)+1)
	maps.Copy(attrs, labels)
	if name != "" {
		attrs["name"] = name
	}
	p.Publish(events.ImageEvent(action, id, attrs))
}

// labelsOf returns the labels of the image a record target resolves to.
func (s *Service) labelsOf(ctx context.Context, target ocispec.Descriptor) map[string]string {
	r, err := s.resolve(ctx, target)
	if err != nil {
		return nil
	}
	return r.config.Config.Labels
}

// publishRemoved publishes what a removal did: an untag per name, then a
// delete per image.
func (s *Service) publishRemoved(img *Image, res *Removed) {
	for _, name := range res.Untagged {
		s.publish(eventtypes.ActionUnTag, img.ID.String(), name, img.Config.Config.Labels)
	}
	for _, id := range res.Deleted {
		s.publish(eventtypes.ActionDelete, id, id, img.Config.Config.Labels)
	}
}

// publishPrune publishes the end of a prune with the space reclaimed.
func (s *Service) publishPrune(reclaimed uint64) {
	s.mu.Lock()
	p := s.events
	s.mu.Unlock()
	events.Publish(p, events.ImageEvent(eventtypes.ActionPrune, "", map[string]string{"reclaimed": strconv.FormatUint(reclaimed, 10)}))
}
