// Package events serves GET /events (docker events): the daemon's event
// history since a time and the live events, as newline-delimited JSON.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/containerd/errdefs"
	eventtypes "github.com/moby/moby/api/types/events"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/daemon/server/httputil"
	"github.com/pouchcontainer/pouch/pkg/filters"
	svc "github.com/pouchcontainer/pouch/services/events"
)

// Backend is what the router needs of the event bus.
type Backend interface {
	Subscribe(ctx context.Context, since, until time.Time, filter func(eventtypes.Message) bool) *svc.Subscription
}

// Router serves events.
type Router struct {
	b   Backend
	now func() time.Time
}

// New returns the router.
func New(b Backend) *Router { return &Router{b: b, now: time.Now} }

// Routes lists the endpoints.
func (r *Router) Routes() []server.Route {
	return []server.Route{
		{Method: "GET", Path: "/events", Handler: r.events},
	}
}

// events streams the events, with Docker's semantics: since and until
// bound the events of the history that are sent first (neither: none);
// then live events follow until until passes or the client goes away.
// An until that is already past sends the history only.
func (r *Router) events(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	q := req.URL.Query()
	now := r.now()
	since, err := eventTime(q.Get("since"), now)
	if err != nil {
		return err
	}
	until, err := eventTime(q.Get("until"), now)
	if err != nil {
		return err
	}
	if !until.IsZero() && until.Before(since) {
		return fmt.Errorf("`since` time (%s) cannot be after `until` time (%s): %w", q.Get("since"), q.Get("until"), errdefs.ErrInvalidArgument)
	}
	args, err := filters.Parse(q.Get("filters"))
	if err != nil {
		return err
	}
	match, err := svc.NewFilter(args)
	if err != nil {
		return err
	}
	legacy := legacyFields(req.URL.Path)

	sub := r.b.Subscribe(ctx, since, until, match)
	defer sub.Close()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush() // the client sees the answer before the first event
	}
	enc := json.NewEncoder(w)
	for m := range sub.C {
		var v any = m
		if legacy {
			v = svc.WithLegacy(m)
		}
		if err := enc.Encode(v); err != nil {
			return nil // the client went away
		}
		// Flush once the queue is empty: a burst of history goes out in
		// one write, a live event at once.
		if flusher != nil && len(sub.C) == 0 {
			flusher.Flush()
		}
	}
	return nil
}

// eventTime reads since and until as Docker clients send them (Unix
// seconds with an optional fraction) and, for hand-written requests, as
// RFC 3339 times, dates or durations before now ("10m").
func eventTime(v string, now time.Time) (time.Time, error) {
	switch v {
	case "":
		return time.Time{}, nil
	case "0":
		return time.Unix(0, 0), nil // the epoch: the whole history, as Docker
	}
	if t, err := httputil.UnixTime(v); err == nil {
		return t, nil
	}
	t, err := httputil.Until(v, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: want Unix seconds, an RFC 3339 time or a duration: %w", v, errdefs.ErrInvalidArgument)
	}
	return t, nil
}

var versionRE = regexp.MustCompile(`^/v([0-9]+)\.([0-9]+)/`)

// legacyFields reports whether the request's API version wants the
// deprecated status, id and from fields: Docker sends them up to API 1.51
// (and to unversioned requests, which get the version the daemon
// advertises).
func legacyFields(path string) bool {
	m := versionRE.FindStringSubmatch(path)
	if m == nil {
		return true
	}
	var major, minor int
	fmt.Sscanf(m[1]+" "+m[2], "%d %d", &major, &minor)
	return major < 1 || (major == 1 && minor <= 51)
}
