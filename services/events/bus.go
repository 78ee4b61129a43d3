// Package events is pouchd's event bus: the services publish what happens
// to containers, images, networks and volumes, and `GET /events` (docker
// events) reads it back. The bus keeps the last events in a ring buffer, so
// a subscriber can ask for what happened since a time, and fans every new
// event out to its subscribers without ever waiting for one.
//
// The messages are the Docker API's wire type (moby's events.Message). The
// legacy top-level fields Docker still sends at API 1.51 and below
// (status, id, from) are not in that type: they are derived from the
// message where it is written (see Legacy).
package events

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	eventtypes "github.com/moby/moby/api/types/events"
)

// Publisher is what the services need of the bus.
type Publisher interface {
	// Publish records an event and hands it to the subscribers. It never
	// blocks on a subscriber.
	Publish(m eventtypes.Message)
}

// Publish publishes m on p, if there is one: services keep their
// publisher optional.
func Publish(p Publisher, m eventtypes.Message) {
	if p != nil {
		p.Publish(m)
	}
}

const (
	// DefaultHistory is how many past events a bus keeps for `since`
	// (Docker keeps 256).
	DefaultHistory = 1024
	// QueueSize is how many live events a subscriber may fall behind
	// before it is dropped.
	QueueSize = 256
)

// ErrSlowSubscriber ends a subscription whose reader fell QueueSize events
// behind. The publisher never waits for a reader; a client that wants every
// event subscribes again with `since` set to the last event it read.
var ErrSlowSubscriber = errors.New("event subscriber fell too far behind and was dropped")

// Bus is the in-process event bus. The zero value is not usable: use New.
// A nil *Bus drops what is published to it.
type Bus struct {
	mu      sync.Mutex
	history []eventtypes.Message // ring: oldest at head once full
	head    int
	full    bool
	last    int64 // TimeNano of the newest event: stamps never go back
	subs    map[*Subscription]struct{}
	closed  bool

	now func() time.Time // the clock, replaced by tests
}

// New returns a bus keeping the last history events (DefaultHistory if
// history <= 0).
func New(history int) *Bus {
	if history <= 0 {
		history = DefaultHistory
	}
	return &Bus{
		history: make([]eventtypes.Message, 0, history),
		subs:    map[*Subscription]struct{}{},
		now:     time.Now,
	}
}

// Publish stamps m with the time (strictly after the previous event's, so
// the history stays ordered even if the clock steps back), fills in the
// local scope and empty attributes, keeps it in the history and hands it
// to every subscriber whose filter and time range accept it. A subscriber
// whose queue is full is dropped: its channel is closed and its Err is
// ErrSlowSubscriber.
func (b *Bus) Publish(m eventtypes.Message) {
	if b == nil {
		return
	}
	m.Actor.Attributes = maps.Clone(m.Actor.Attributes)
	if m.Actor.Attributes == nil {
		m.Actor.Attributes = map[string]string{}
	}
	if m.Scope == "" {
		m.Scope = "local"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ns := b.now().UnixNano()
	if ns <= b.last {
		ns = b.last + 1
	}
	b.last = ns
	m.Time, m.TimeNano = ns/int64(time.Second), ns

	if !b.full {
		b.history = append(b.history, m)
		b.full = len(b.history) == cap(b.history)
	} else {
		b.history[b.head] = m
		b.head = (b.head + 1) % len(b.history)
	}

	for s := range b.subs {
		if !s.accepts(m) {
			continue
		}
		select {
		case s.ch <- m:
		default:
			s.err = ErrSlowSubscriber
			b.dropLocked(s)
		}
	}
}

// Container publishes a container event (see ContainerEvent).
func (b *Bus) Container(action eventtypes.Action, id string, attrs map[string]string) {
	b.Publish(ContainerEvent(action, id, attrs))
}

// Image publishes an image event (see ImageEvent).
func (b *Bus) Image(action eventtypes.Action, id string, attrs map[string]string) {
	b.Publish(ImageEvent(action, id, attrs))
}

// Network publishes a network event (see NetworkEvent).
func (b *Bus) Network(action eventtypes.Action, id string, attrs map[string]string) {
	b.Publish(NetworkEvent(action, id, attrs))
}

// Volume publishes a volume event (see VolumeEvent).
func (b *Bus) Volume(action eventtypes.Action, name string, attrs map[string]string) {
	b.Publish(VolumeEvent(action, name, attrs))
}

// Subscription is one reader of the bus.
type Subscription struct {
	// C yields the buffered events the subscription asked for, then live
	// ones. It is closed when until passes, the context given to Subscribe
	// is done, Close is called, the bus closes, or the reader fell behind
	// (Err then says so).
	C <-chan eventtypes.Message

	ch           chan eventtypes.Message
	bus          *Bus
	since, until int64 // UnixNano, when bounded
	hasSince     bool
	hasUntil     bool
	filter       func(eventtypes.Message) bool
	err          error
	timer        *time.Timer
	stopCtx      func() bool
}

func (s *Subscription) accepts(m eventtypes.Message) bool {
	if s.hasSince && m.TimeNano < s.since {
		return false
	}
	if s.hasUntil && m.TimeNano > s.until {
		return false
	}
	return s.filter == nil || s.filter(m)
}

// Subscribe returns a subscription, with Docker's semantics for
// `GET /events?since=&until=`: C first yields the events of the history
// published at or after since and at or before until that filter accepts
// (none when both since and until are zero: a plain subscription gets
// only live events), then the live events filter accepts until until
// passes (never, when zero) or ctx is done. An until that is not in the
// future yields the buffered events only. filter may be nil (every event);
// it is called with the bus locked and must be quick.
func (b *Bus) Subscribe(ctx context.Context, since, until time.Time, filter func(eventtypes.Message) bool) *Subscription {
	s := &Subscription{bus: b, filter: filter}
	if !since.IsZero() {
		s.since, s.hasSince = since.UnixNano(), true
	}
	if !until.IsZero() {
		s.until, s.hasUntil = until.UnixNano(), true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var buffered []eventtypes.Message
	if s.hasSince || s.hasUntil {
		n := len(b.history)
		for i := range n {
			m := b.history[(b.head+i)%n]
			if s.accepts(m) {
				buffered = append(buffered, m)
			}
		}
	}
	s.ch = make(chan eventtypes.Message, len(buffered)+QueueSize)
	s.C = s.ch
	for _, m := range buffered {
		s.ch <- m
	}
	now := b.now()
	if b.closed || (s.hasUntil && !until.After(now)) || ctx.Err() != nil {
		close(s.ch)
		return s
	}
	b.subs[s] = struct{}{}
	if s.hasUntil {
		s.timer = time.AfterFunc(until.Sub(now), s.Close)
	}
	s.stopCtx = context.AfterFunc(ctx, s.Close)
	return s
}

// Close ends the subscription: C is closed once its queued events are read.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.bus.dropLocked(s)
}

// Err tells why C was closed early: ErrSlowSubscriber if the reader fell
// behind, nil otherwise.
func (s *Subscription) Err() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.err
}

func (b *Bus) dropLocked(s *Subscription) {
	if _, ok := b.subs[s]; !ok {
		return
	}
	delete(b.subs, s)
	close(s.ch)
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.stopCtx != nil {
		s.stopCtx()
	}
}

// Close ends every subscription, so that streaming clients finish before
// the server shuts down. Events published afterwards are still kept.
func (b *Bus) Close() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.dropLocked(s)
	}
}

// Subscribers is how many subscriptions are live.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
