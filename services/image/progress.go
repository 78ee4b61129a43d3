package image

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/diff"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Progress is one message of a pull or a push in Docker's vocabulary: a
// status about an ID (a layer's short digest, or a tag), with byte counts
// while data moves.
type Progress struct {
	ID     string
	Status string
	// Layer marks a message about a layer: Docker sends those with a
	// (possibly empty) progress detail.
	Layer   bool
	Current int64
	Total   int64
	// Aux is the result of a push: the tag, digest and size pushed.
	Aux *PushResult
}

// PushResult is what a push of one tag produced.
type PushResult struct {
	Tag    string
	Digest string
	Size   int
}

// ProgressOutput receives the messages of one pull or push. Messages come
// one at a time. An error (the client went away) ends the operation.
type ProgressOutput interface {
	WriteProgress(Progress) error
}

// progressInterval is how often byte counts are reported.
const progressInterval = 100 * time.Millisecond

// Docker's progress statuses.
const (
	statusPullingFsLayer  = "Pulling fs layer"
	statusWaiting         = "Waiting"
	statusDownloading     = "Downloading"
	statusVerifying       = "Verifying Checksum"
	statusDownloaded      = "Download complete"
	statusExtracting      = "Extracting"
	statusPullComplete    = "Pull complete"
	statusAlreadyExists   = "Already exists"
	statusPreparing       = "Preparing"
	statusPushing         = "Pushing"
	statusPushed          = "Pushed"
	statusLayerExists     = "Layer already exists"
	statusMountedFromPref = "Mounted from "
)

// ShortID is how Docker names a layer in progress messages: the first 12
// hex digits of its digest.
func ShortID(d digest.Digest) string {
	e := d.Encoded()
	if len(e) > 12 {
		e = e[:12]
	}
	return e
}

// output serialises messages to a ProgressOutput and remembers the first
// error, after which nothing more is written.
type output struct {
	mu     sync.Mutex
	out    ProgressOutput
	err    error
	cancel context.CancelFunc // called on the first write error
}

func (o *output) write(p Progress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil || o.out == nil {
		return
	}
	if err := o.out.WriteProgress(p); err != nil {
		o.err = err
		if o.cancel != nil {
			o.cancel()
		}
	}
}

func (o *output) failed() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// layerState is where a layer is in a pull or push.
type layerState int

const (
	layerQueued layerState = iota
	layerMoving            // downloading or uploading
	layerMoved             // downloaded (not yet extracted) or uploaded
	layerExtracting
	layerDone
)

type layerProgress struct {
	desc     ocispec.Descriptor
	id       string
	state    layerState
	ref      string // content ingest (pull) or push tracker reference
	reported int64  // the last byte count sent
	verified bool   // "Verifying Checksum" sent
	read     atomic.Int64
}

// pullProgress turns the events of a pull (layers announced by a manifest,
// fetches starting and ending, extraction) and the content store's ingest
// offsets into Docker's per-layer messages.
type pullProgress struct {
	out   *output
	cs    content.Store
	limit int // parallel downloads: layers past it show as waiting

	mu     sync.Mutex
	layers map[digest.Digest]*layerProgress
	order  []*layerProgress
}

func newPullProgress(out *output, cs content.Store, limit int) *pullProgress {
	return &pullProgress{out: out, cs: cs, limit: limit, layers: map[digest.Digest]*layerProgress{}}
}

func (p *pullProgress) layer(d digest.Digest) *layerProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.layers[d]
}

// announce lists the layers of a manifest: present ones "Already exists",
// the others "Pulling fs layer", and those beyond the parallel downloads
// "Waiting".
func (p *pullProgress) announce(ctx context.Context, layers []ocispec.Descriptor) {
	queued := 0
	for _, l := range layers {
		p.mu.Lock()
		if _, seen := p.layers[l.Digest]; seen {
			p.mu.Unlock()
			continue
		}
		lp := &layerProgress{desc: l, id: ShortID(l.Digest)}
		p.layers[l.Digest] = lp
		p.order = append(p.order, lp)
		p.mu.Unlock()
		if _, err := p.cs.Info(ctx, l.Digest); err == nil {
			lp.state = layerDone
			p.out.write(Progress{ID: lp.id, Status: statusAlreadyExists, Layer: true})
			continue
		}
		p.out.write(Progress{ID: lp.id, Status: statusPullingFsLayer, Layer: true})
		if queued >= p.limit {
			p.out.write(Progress{ID: lp.id, Status: statusWaiting, Layer: true})
		}
		queued++
	}
}

// fetchStarted marks a layer's download as started under ingest ref.
func (p *pullProgress) fetchStarted(desc ocispec.Descriptor, ref string) {
	lp := p.layer(desc.Digest)
	if lp == nil {
		return
	}
	p.mu.Lock()
	if lp.state == layerQueued {
		lp.state, lp.ref = layerMoving, ref
	}
	p.mu.Unlock()
}

// fetchDone reports a finished download.
func (p *pullProgress) fetchDone(desc ocispec.Descriptor) {
	lp := p.layer(desc.Digest)
	if lp == nil {
		return
	}
	p.mu.Lock()
	if lp.state != layerMoving {
		p.mu.Unlock()
		return
	}
	lp.state = layerMoved
	reported, verified := lp.reported, lp.verified
	lp.reported, lp.verified = desc.Size, true
	p.mu.Unlock()
	if reported < desc.Size {
		p.out.write(Progress{ID: lp.id, Status: statusDownloading, Layer: true, Current: desc.Size, Total: desc.Size})
	}
	if !verified {
		p.out.write(Progress{ID: lp.id, Status: statusVerifying, Layer: true})
	}
	p.out.write(Progress{ID: lp.id, Status: statusDownloaded, Layer: true})
}

func (p *pullProgress) extractStarted(desc ocispec.Descriptor) {
	lp := p.layer(desc.Digest)
	if lp == nil {
		return
	}
	p.mu.Lock()
	lp.state, lp.reported = layerExtracting, 0
	lp.read.Store(0)
	p.mu.Unlock()
}

func (p *pullProgress) extractDone(desc ocispec.Descriptor) {
	lp := p.layer(desc.Digest)
	if lp == nil {
		return
	}
	p.mu.Lock()
	reported := lp.reported
	lp.state = layerDone
	p.mu.Unlock()
	if reported < desc.Size {
		p.out.write(Progress{ID: lp.id, Status: statusExtracting, Layer: true, Current: desc.Size, Total: desc.Size})
	}
	p.out.write(Progress{ID: lp.id, Status: statusPullComplete, Layer: true})
}

// tick reports the byte counts that moved since the last tick.
func (p *pullProgress) tick(ctx context.Context) {
	p.mu.Lock()
	var moving, extracting []*layerProgress
	for _, lp := range p.order {
		switch lp.state {
		case layerMoving:
			moving = append(moving, lp)
		case layerExtracting:
			extracting = append(extracting, lp)
		}
	}
	p.mu.Unlock()
	for _, lp := range moving {
		st, err := p.cs.Status(ctx, lp.ref)
		if err != nil {
			continue
		}
		p.mu.Lock()
		if lp.state != layerMoving || st.Offset <= lp.reported {
			p.mu.Unlock()
			continue
		}
		lp.reported = st.Offset
		verify := st.Offset >= lp.desc.Size && !lp.verified
		if verify {
			lp.verified = true
		}
		p.mu.Unlock()
		p.out.write(Progress{ID: lp.id, Status: statusDownloading, Layer: true, Current: st.Offset, Total: lp.desc.Size})
		if verify {
			p.out.write(Progress{ID: lp.id, Status: statusVerifying, Layer: true})
		}
	}
	for _, lp := range extracting {
		n := lp.read.Load()
		p.mu.Lock()
		if lp.state != layerExtracting || n <= lp.reported {
			p.mu.Unlock()
			continue
		}
		lp.reported = n
		p.mu.Unlock()
		p.out.write(Progress{ID: lp.id, Status: statusExtracting, Layer: true, Current: n, Total: lp.desc.Size})
	}
}

// finish closes every layer after a successful pull: one downloaded but
// not extracted (its snapshot existed) is complete; one never fetched (it
// was unpacked already) exists.
func (p *pullProgress) finish() {
	p.mu.Lock()
	var msgs []Progress
	for _, lp := range p.order {
		switch lp.state {
		case layerMoved, layerExtracting:
			msgs = append(msgs, Progress{ID: lp.id, Status: statusPullComplete, Layer: true})
		case layerQueued, layerMoving:
			msgs = append(msgs, Progress{ID: lp.id, Status: statusAlreadyExists, Layer: true})
		default:
			continue
		}
		lp.state = layerDone
	}
	p.mu.Unlock()
	for _, m := range msgs {
		p.out.write(m)
	}
}

// run ticks until ctx ends.
func runTicker(ctx context.Context, tick func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				tick(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// trackingApplier reports extraction: it starts and ends with each Apply,
// and counts the compressed bytes the applier reads.
type trackingApplier struct {
	diff.Applier
	p *pullProgress
}

func (a trackingApplier) Apply(ctx context.Context, desc ocispec.Descriptor, mounts []mount.Mount, opts ...diff.ApplyOpt) (ocispec.Descriptor, error) {
	a.p.extractStarted(desc)
	d, err := a.Applier.Apply(ctx, desc, mounts, opts...)
	if err == nil {
		a.p.extractDone(desc)
	}
	return d, err
}

// countingProvider counts the bytes read of each layer being extracted.
type countingProvider struct {
	content.Provider
	p *pullProgress
}

func (c countingProvider) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	ra, err := c.Provider.ReaderAt(ctx, desc)
	if err != nil {
		return nil, err
	}
	lp := c.p.layer(desc.Digest)
	if lp == nil {
		return ra, nil
	}
	return countingReaderAt{ReaderAt: ra, n: &lp.read}, nil
}

type countingReaderAt struct {
	content.ReaderAt
	n *atomic.Int64
}

func (c countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.ReaderAt.ReadAt(b, off)
	c.n.Add(int64(n))
	return n, err
}

// pushProgress turns a push's layer events and the pusher's status
// tracker into Docker's push messages.
type pushProgress struct {
	out     *output
	tracker docker.StatusTracker

	mu     sync.Mutex
	layers map[digest.Digest]*layerProgress
	order  []*layerProgress
}

func newPushProgress(out *output, tracker docker.StatusTracker) *pushProgress {
	return &pushProgress{out: out, tracker: tracker, layers: map[digest.Digest]*layerProgress{}}
}

// prepare lists the layers, top layer first as Docker does.
func (p *pushProgress) prepare(layers []ocispec.Descriptor) {
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		p.mu.Lock()
		if _, seen := p.layers[l.Digest]; seen {
			p.mu.Unlock()
			continue
		}
		lp := &layerProgress{desc: l, id: ShortID(l.Digest)}
		p.layers[l.Digest] = lp
		p.order = append(p.order, lp)
		p.mu.Unlock()
		p.out.write(Progress{ID: lp.id, Status: statusPreparing, Layer: true})
	}
}

func (p *pushProgress) started(desc ocispec.Descriptor, ref string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if lp := p.layers[desc.Digest]; lp != nil && lp.state == layerQueued {
		lp.state, lp.ref = layerMoving, ref
	}
}

// done reports how a layer reached the registry: uploaded, already there,
// or mounted from another repository.
func (p *pushProgress) done(desc ocispec.Descriptor) {
	p.mu.Lock()
	lp := p.layers[desc.Digest]
	if lp == nil || lp.state == layerDone {
		p.mu.Unlock()
		return
	}
	lp.state = layerDone
	reported := lp.reported
	p.mu.Unlock()
	status := statusPushed
	if st, err := p.tracker.GetStatus(lp.ref); err == nil {
		switch {
		case st.Exists:
			status = statusLayerExists
		case st.MountedFrom != "":
			status = statusMountedFromPref + mountedRepo(st.MountedFrom)
		}
	}
	if status == statusPushed && reported < desc.Size {
		p.out.write(Progress{ID: lp.id, Status: statusPushing, Layer: true, Current: desc.Size, Total: desc.Size})
	}
	p.out.write(Progress{ID: lp.id, Status: status, Layer: true})
}

func (p *pushProgress) tick(context.Context) {
	p.mu.Lock()
	var moving []*layerProgress
	for _, lp := range p.order {
		if lp.state == layerMoving {
			moving = append(moving, lp)
		}
	}
	p.mu.Unlock()
	for _, lp := range moving {
		st, err := p.tracker.GetStatus(lp.ref)
		if err != nil || st.Exists || st.MountedFrom != "" {
			continue
		}
		p.mu.Lock()
		if lp.state != layerMoving || st.Offset <= lp.reported {
			p.mu.Unlock()
			continue
		}
		lp.reported = st.Offset
		p.mu.Unlock()
		p.out.write(Progress{ID: lp.id, Status: statusPushing, Layer: true, Current: st.Offset, Total: lp.desc.Size})
	}
}

// mountedRepo drops the registry from "host/repo", as Docker prints it.
func mountedRepo(from string) string {
	for i := 0; i < len(from); i++ {
		if from[i] == '/' {
			return from[i+1:]
		}
	}
	return from
}
