package events

import (
	"maps"
	"strings"

	eventtypes "github.com/moby/moby/api/types/events"
)

// ContainerEvent is an event about container id. attrs are what Docker
// gives the action (exitCode for die, signal for kill, oldName for
// rename...) together with the container's labels, image and name: build
// them with ContainerAttributes.
func ContainerEvent(action eventtypes.Action, id string, attrs map[string]string) eventtypes.Message {
	return message(eventtypes.ContainerEventType, action, id, attrs)
}

// ContainerAttributes is the Actor.Attributes of a container event the way
// Docker builds them: extra (the action's own attributes), then the
// container's labels over them, then image (the image as the container's
// config names it, if any) and name (without a leading slash) over both.
func ContainerAttributes(name, image string, labels, extra map[string]string) map[string]string {
	attrs := make(map[string]string, len(extra)+len(labels)+2)
	maps.Copy(attrs, extra)
	maps.Copy(attrs, labels)
	if image != "" {
		attrs["image"] = image
	}
	attrs["name"] = strings.TrimPrefix(name, "/")
	return attrs
}

// ImageEvent is an event about an image. Docker's actor ID depends on the
// action: the familiar reference for pull and push ("busybox:latest"),
// the image ID otherwise. attrs are the image's labels and "name".
func ImageEvent(action eventtypes.Action, id string, attrs map[string]string) eventtypes.Message {
	return message(eventtypes.ImageEventType, action, id, attrs)
}

// NetworkEvent is an event about network id. attrs are "name" and "type"
// (the driver), and "container" for connect and disconnect.
func NetworkEvent(action eventtypes.Action, id string, attrs map[string]string) eventtypes.Message {
	return message(eventtypes.NetworkEventType, action, id, attrs)
}

// VolumeEvent is an event about volume name. attrs are "driver" for
// create and destroy, and "container", "destination", "read/write" and
// "propagation" for mount and unmount.
func VolumeEvent(action eventtypes.Action, name string, attrs map[string]string) eventtypes.Message {
	return message(eventtypes.VolumeEventType, action, name, attrs)
}

func message(t eventtypes.Type, action eventtypes.Action, id string, attrs map[string]string) eventtypes.Message {
	if attrs == nil {
		attrs = map[string]string{}
	}
	return eventtypes.Message{
		Type:   t,
		Action: action,
		Actor:  eventtypes.Actor{ID: id, Attributes: attrs},
		Scope:  "local",
	}
}

// Legacy is a message as Docker writes it at API 1.51 and below: the
// deprecated top-level status, id and from beside the message's fields.
// Docker fills them for container and image events only.
type Legacy struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	eventtypes.Message
}

// WithLegacy adds the legacy fields to m: status is the action, id the
// actor's ID and, for containers, from is the image attribute.
func WithLegacy(m eventtypes.Message) Legacy {
	l := Legacy{Message: m}
	switch m.Type {
	case eventtypes.ContainerEventType:
		l.Status, l.ID, l.From = string(m.Action), m.Actor.ID, m.Actor.Attributes["image"]
	case eventtypes.ImageEventType:
		l.Status, l.ID = string(m.Action), m.Actor.ID
	}
	return l
}
