package registry

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// FaultProxy is a plain-HTTP reverse proxy on 127.0.0.1 in front of a
// registry. It records every request (method, path, status, body bytes
// sent) and injects faults on cue: cut the connection after N bytes of a
// body, flip a byte, answer an error status, delay, or stall mid-body.
// Clients name the proxy's Host in image references; give pouchd
// --insecure-registries Host.
type FaultProxy struct {
	// Host is "127.0.0.1:PORT"; URL is "http://Host".
	Host, URL string

	target *Registry
	srv    *http.Server
	ln     net.Listener
	rp     *httputil.ReverseProxy

	mu      sync.Mutex
	records []Record
	faults  []*Injection
}

// Kinds of registry requests, from their path.
const (
	KindBase     = "base"     // /v2/
	KindManifest = "manifest" // /v2/<name>/manifests/<ref>
	KindBlob     = "blob"     // /v2/<name>/blobs/<digest>
	KindUpload   = "upload"   // /v2/<name>/blobs/uploads/...
	KindOther    = "other"
)

// Record is one proxied request.
type Record struct {
	Method   string
	Path     string
	Kind     string
	Repo     string        // repository name ("" for /v2/)
	Ref      string        // tag or digest of a manifest, digest of a blob
	Status   int           // status sent to the client
	Bytes    int64         // response body bytes sent to the client
	ReqBytes int64         // request body bytes the client sent (uploads)
	Fault    string        // the fault applied, if any
	Took     time.Duration // time to answer
}

var (
	manifestPath = regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`)
	uploadPath   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/?`)
	blobPath     = regexp.MustCompile(`^/v2/(.+)/blobs/([^/]+)$`)
)

func classify(p string) (kind, repo, ref string) {
	switch {
	case p == "/v2/" || p == "/v2":
		return KindBase, "", ""
	case uploadPath.MatchString(p):
		return KindUpload, uploadPath.FindStringSubmatch(p)[1], ""
	case manifestPath.MatchString(p):
		m := manifestPath.FindStringSubmatch(p)
		return KindManifest, m[1], m[2]
	case blobPath.MatchString(p):
		m := blobPath.FindStringSubmatch(p)
		return KindBlob, m[1], m[2]
	}
	return KindOther, "", ""
}

// Fault is an injected misbehaviour. Match selects requests (nil: every
// request); Times bounds how many matching requests it hits (0: all).
// Exactly one action applies, in this order: Status, CutAfter, Corrupt,
// Stall, Delay.
type Fault struct {
	Match func(Record) bool
	Times int

	// Status answers this status (with a registry-style error body)
	// instead of forwarding.
	Status int
	// Offsets below are positions in the blob, not in one response: a
	// ranged request (a client resuming) that starts past an offset meets
	// the fault at its first byte.

	// CutAfter forwards the body up to this offset, then drops the
	// connection. Use a negative value for "before any body byte" (0
	// means unset).
	CutAfter int64
	// Corrupt flips the bits of the body byte at offset CorruptAt.
	Corrupt   bool
	CorruptAt int64
	// Stall forwards the body up to offset StallAfter, then holds the
	// response for Stall (or until the client goes away), then goes on.
	Stall      time.Duration
	StallAfter int64
	// Delay waits before forwarding.
	Delay time.Duration
}

// Injection is a fault in force.
type Injection struct {
	Fault
	p       *FaultProxy
	hits    int
	hit     chan struct{}
	hitOnce sync.Once
}

// WaitHit waits (bounded) for the fault to take effect.
func (f *Injection) WaitHit(t testing.TB, limit time.Duration) {
	t.Helper()
	select {
	case <-f.hit:
	case <-time.After(limit):
		t.Fatalf("fault proxy: fault not hit within %s", limit)
	}
}

// Hits is how many requests the fault hit.
func (f *Injection) Hits() int {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	return f.hits
}

func (f *Injection) fire() { f.hitOnce.Do(func() { close(f.hit) }) }

// BlobGET matches GETs of blobs (any digest when d is "").
func BlobGET(d digest.Digest) func(Record) bool {
	return func(r Record) bool {
		return r.Method == http.MethodGet && r.Kind == KindBlob && (d == "" || r.Ref == d.String())
	}
}

// KindIs matches requests of a kind with one of the methods (any method
// when none is given).
func KindIs(kind string, methods ...string) func(Record) bool {
	return func(r Record) bool {
		if r.Kind != kind {
			return false
		}
		if len(methods) == 0 {
			return true
		}
		for _, m := range methods {
			if r.Method == m {
				return true
			}
		}
		return false
	}
}

// NewFaultProxy starts a proxy in front of target for the test.
func NewFaultProxy(t testing.TB, target *Registry) *FaultProxy {
	t.Helper()
	p, err := ListenFaultProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// ListenFaultProxy starts a proxy in front of target; Close stops it.
func ListenFaultProxy(target *Registry) (*FaultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(target.URL)
	if err != nil {
		ln.Close()
		return nil, err
	}
	p := &FaultProxy{Host: ln.Addr().String(), target: target, ln: ln}
	p.URL = "http://" + p.Host
	tr := target.transport()
	tr.DisableCompression = true
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // the registry writes upload Locations for the proxy's host
		},
		Transport:     tr,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the proxy and drops its connections.
func (p *FaultProxy) Close() { _ = p.srv.Close() }

// Ref is the reference Host/repo:tag (or @digest) through the proxy.
func (p *FaultProxy) Ref(repo, tag string) string {
	if strings.HasPrefix(tag, "sha256:") {
		return p.Host + "/" + repo + "@" + tag
	}
	return p.Host + "/" + repo + ":" + tag
}

// Inject adds a fault and returns it (to wait for it or count its hits).
func (p *FaultProxy) Inject(f Fault) *Injection {
	in := &Injection{Fault: f, p: p, hit: make(chan struct{})}
	p.mu.Lock()
	p.faults = append(p.faults, in)
	p.mu.Unlock()
	return in
}

// ClearFaults removes every fault.
func (p *FaultProxy) ClearFaults() {
	p.mu.Lock()
	p.faults = nil
	p.mu.Unlock()
}

// Records returns the requests answered so far.
func (p *FaultProxy) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.records...)
}

// Reset forgets the recorded requests.
func (p *FaultProxy) Reset() {
	p.mu.Lock()
	p.records = nil
	p.mu.Unlock()
}

// Count counts recorded requests that match.
func (p *FaultProxy) Count(match func(Record) bool) int {
	n := 0
	for _, r := range p.Records() {
		if match(r) {
			n++
		}
	}
	return n
}

// BlobBytes sums the body bytes sent for blob GETs, per digest.
func (p *FaultProxy) BlobBytes() map[string]int64 {
	out := map[string]int64{}
	for _, r := range p.Records() {
		if r.Kind == KindBlob && r.Method == http.MethodGet {
			out[r.Ref] += r.Bytes
		}
	}
	return out
}

// pick returns the fault for a request and counts the hit.
func (p *FaultProxy) pick(rec Record) *Injection {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.faults {
		if f.Times > 0 && f.hits >= f.Times {
			continue
		}
		if f.Match == nil || f.Match(rec) {
			f.hits++
			return f
		}
	}
	return nil
}

func (p *FaultProxy) serve(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	kind, repo, ref := classify(req.URL.Path)
	rec := Record{Method: req.Method, Path: req.URL.Path, Kind: kind, Repo: repo, Ref: ref}
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK, rangeStart: rangeStart(req.Header.Get("Range"))}
	body := &countingBody{ReadCloser: req.Body}
	req.Body = body
	defer func() {
		rec.Status, rec.Bytes, rec.Took = cw.status, cw.n, time.Since(start)
		rec.ReqBytes = body.n.Load()
		p.mu.Lock()
		p.records = append(p.records, rec)
		p.mu.Unlock()
	}()
	f := p.pick(rec)
	if f == nil {
		p.rp.ServeHTTP(cw, req)
		return
	}
	switch {
	case f.Status != 0:
		rec.Fault = "status"
		f.fire()
		cw.Header().Set("Content-Type", "application/json")
		cw.WriteHeader(f.Status)
		_, _ = io.WriteString(cw, `{"errors":[{"code":"UNKNOWN","message":"fault proxy: injected error"}]}`)
		return
	case f.CutAfter != 0:
		rec.Fault = "cut"
		n := max(f.CutAfter, 0)
		cw.limit, cw.onLimit = n, func() { f.fire(); panic(http.ErrAbortHandler) }
	case f.Corrupt:
		rec.Fault = "corrupt"
		cw.corruptAt, cw.corrupt, cw.onCorrupt = f.CorruptAt, true, f.fire
	case f.Stall > 0:
		rec.Fault = "stall"
		ctx := req.Context()
		cw.limit, cw.onLimit = f.StallAfter, func() {
			f.fire()
			select {
			case <-ctx.Done():
				panic(http.ErrAbortHandler)
			case <-time.After(f.Stall):
			}
		}
	case f.Delay > 0:
		rec.Fault = "delay"
		f.fire()
		select {
		case <-req.Context().Done():
			return
		case <-time.After(f.Delay):
		}
	}
	p.rp.ServeHTTP(cw, req)
}

// rangeStart is the first offset of a "bytes=S-[E]" range (0 if none).
func rangeStart(h string) int64 {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0
	}
	start, _, _ := strings.Cut(spec, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// countingBody counts request body bytes.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// countingWriter counts body bytes and applies faults at blob offsets.
type countingWriter struct {
	http.ResponseWriter
	status     int
	n          int64 // body bytes written
	rangeStart int64 // offset asked for by the request's Range
	base       int64 // blob offset of the first body byte

	limit   int64 // blob offset at which onLimit runs; onLimit nil: none
	onLimit func()
	fired   bool

	corrupt   bool
	corruptAt int64
	onCorrupt func()
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	if code == http.StatusPartialContent {
		c.base = c.rangeStart
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	off := c.base + c.n
	if c.corrupt && c.status/100 == 2 && c.corruptAt >= off && c.corruptAt < off+int64(len(b)) {
		cp := append([]byte(nil), b...)
		cp[c.corruptAt-off] ^= 0xff
		b = cp
		c.onCorrupt()
	}
	if c.onLimit != nil && !c.fired && c.status/100 == 2 && off+int64(len(b)) > c.limit {
		head := b[:max(c.limit-off, 0)]
		written, err := c.ResponseWriter.Write(head)
		c.n += int64(written)
		if err != nil {
			return written, err
		}
		c.flush()
		c.fire()
		rest, err := c.ResponseWriter.Write(b[len(head):])
		c.n += int64(rest)
		return written + rest, err
	}
	written, err := c.ResponseWriter.Write(b)
	c.n += int64(written)
	return written, err
}

func (c *countingWriter) fire() {
	c.fired = true
	c.onLimit()
}

func (c *countingWriter) flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingWriter) Flush() { c.flush() }

// Unwrap lets http.ResponseController reach the real writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
