package image

import (
	"context"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"

	imagestore "github.com/pouchcontainer/pouch/image"
)

// Collector runs the store's garbage collection in the background,
// debounced: removing snapshots can take seconds for big images, so no
// client waits for it.
type Collector struct {
	store *imagestore.Store
	delay time.Duration

	mu      sync.Mutex
	timer   *time.Timer
	running sync.WaitGroup
}

// NewCollector returns a collector that runs delay after the last Schedule.
func NewCollector(store *imagestore.Store, delay time.Duration) *Collector {
	return &Collector{store: store, delay: delay}
}

// Schedule asks for a collection soon.
func (c *Collector) Schedule() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Push a pending collection back; one that already fired runs as it
	// is, and this call schedules the next.
	if c.timer != nil && c.timer.Stop() {
		c.timer.Reset(c.delay)
		return
	}
	c.running.Add(1)
	var t *time.Timer
	t = time.AfterFunc(c.delay, func() {
		defer c.running.Done()
		c.mu.Lock()
		if c.timer == t {
			c.timer = nil
		}
		c.mu.Unlock()
		c.Run(context.Background())
	})
	c.timer = t
}

// Run collects now.
func (c *Collector) Run(ctx context.Context) {
	stats, err := c.store.DB.GarbageCollect(imagestore.WithNamespace(ctx))
	if err != nil {
		log.G(ctx).WithError(err).Warn("garbage collection failed")
		return
	}
	log.G(ctx).WithField("elapsed", stats.Elapsed()).Debug("garbage collected")
}

// Wait waits for a scheduled collection to finish (used at shutdown).
func (c *Collector) Wait() {
	c.running.Wait()
}

// Close drops a collection that has not started yet, so a stopping daemon
// does not wait for the debounce (the next daemon collects at start), and
// waits for one that is running.
func (c *Collector) Close() {
	c.mu.Lock()
	if c.timer != nil && c.timer.Stop() {
		c.timer = nil
		c.running.Done()
	}
	c.mu.Unlock()
	c.running.Wait()
}

// Recover runs at daemon start. Leases only live while a load or a pull
// runs, so any lease left is from a pouchd that died mid-write (kill -9):
// it is dropped, and a collection removes what it held, half-written
// downloads (content ingests) included. The next pull fetches anew.
func (s *Service) Recover(ctx context.Context) error {
	ls, err := s.store.Leases.List(ctx)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if err := s.store.Leases.Delete(ctx, l); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	ingests, err := s.store.Content.ListStatuses(ctx)
	if err != nil {
		return err
	}
	if len(ls) > 0 || len(ingests) > 0 {
		log.G(ctx).WithField("leases", len(ls)).WithField("ingests", len(ingests)).Info("collecting what an interrupted pull or load left")
	}
	// Also what a removal just before the last stop left for a GC that
	// was then dropped (Collector.Close).
	s.gc.Schedule()
	return nil
}
