package events

import (
	"strings"

	dref "github.com/distribution/reference"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/pkg/filters"
)

// FilterKeys are the filters `GET /events` accepts: Docker's.
var FilterKeys = []string{
	"config", "container", "daemon", "event", "image", "label", "network",
	"node", "plugin", "scope", "secret", "service", "type", "volume",
}

// NewFilter turns the `filters` of `GET /events` into a match function
// with Docker's rules. Different keys must all match; values of one key
// are alternatives, except label, whose values must all match.
//   - type, scope: exact.
//   - event: exact on the action, or a prefix when one of the values is
//     health_status, exec_create or exec_start (whose actions carry a
//     suffix, "exec_start: sh -c ...").
//   - container, network, volume, daemon (and Docker's swarm and plugin
//     types): a prefix of the actor's ID or of its "name" attribute. As
//     in Docker, such a filter also drops events of other types, whose
//     actors are not named so.
//   - image: the actor's ID or its image name ("name" for image events,
//     "image" for container events), as given or without its tag.
//   - label: "key" or "key=value" among the actor's attributes.
//
// An unknown key is an invalid-argument error.
func NewFilter(args filters.Args) (func(eventtypes.Message) bool, error) {
	if err := args.Validate(FilterKeys...); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, nil
	}
	fuzzyEvent := false
	for _, v := range args.Values("event") {
		switch eventtypes.Action(v) {
		case eventtypes.ActionHealthStatus, eventtypes.ActionExecCreate, eventtypes.ActionExecStart:
			fuzzyEvent = true
		}
	}
	return func(m eventtypes.Message) bool {
		action := string(m.Action)
		if fuzzyEvent {
			if !fuzzy(args, "event", action) {
				return false
			}
		} else if !exact(args, "event", action) {
			return false
		}
		if !exact(args, "type", string(m.Type)) || !exact(args, "scope", m.Scope) {
			return false
		}
		for _, t := range []eventtypes.Type{
			eventtypes.DaemonEventType, eventtypes.ContainerEventType, eventtypes.PluginEventType,
			eventtypes.VolumeEventType, eventtypes.NetworkEventType, eventtypes.NodeEventType,
			eventtypes.ServiceEventType, eventtypes.SecretEventType, eventtypes.ConfigEventType,
		} {
			if !args.Has(string(t)) {
				continue
			}
			if !fuzzy(args, string(t), m.Actor.ID) && !fuzzy(args, string(t), m.Actor.Attributes["name"]) {
				return false
			}
		}
		if args.Has("image") && !matchImage(args, m) {
			return false
		}
		if args.Has("label") && !args.MatchLabels("label", m.Actor.Attributes) {
			return false
		}
		return true
	}, nil
}

// exact reports whether v is one of key's values; true without the key.
func exact(args filters.Args, key, v string) bool {
	return !args.Has(key) || args[key][v]
}

// fuzzy reports whether one of key's values is v or a prefix of it; true
// without the key.
func fuzzy(args filters.Args, key, v string) bool {
	return args.Match(key, func(want string) bool { return strings.HasPrefix(v, want) })
}

func matchImage(args filters.Args, m eventtypes.Message) bool {
	attr := "image"
	if m.Type == eventtypes.ImageEventType {
		attr = "name"
	}
	name := m.Actor.Attributes[attr]
	for _, v := range []string{m.Actor.ID, name, stripTag(m.Actor.ID), stripTag(name)} {
		if args["image"][v] {
			return true
		}
	}
	return false
}

// stripTag is the familiar repository of an image reference ("busybox"
// for docker.io/library/busybox:latest); other strings come back as they are.
func stripTag(image string) string {
	if image == "" {
		return ""
	}
	n, err := dref.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	return dref.FamiliarName(n)
}
