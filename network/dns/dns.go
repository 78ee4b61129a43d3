// Package dns is Pouch's embedded DNS resolver, the counterpart of Docker's
// 127.0.0.11 resolver for containers on user-defined networks.
//
// Containers on such networks get "nameserver 127.0.0.11" in their
// resolv.conf. [Serve] opens a UDP and a TCP socket on [Address] inside a
// container's network namespace; everything else (parsing, answering,
// forwarding) runs in pouchd's own network namespace, so upstream servers
// that only the host can reach (127.0.0.53, a VPN resolver) work.
//
// What is answered how (the client's query is "the query"):
//
//   - Packets that cannot be parsed (header and first question), responses
//     (QR set) and queries without a question are dropped silently.
//   - A non-QUERY opcode is answered NOTIMP; more than one question FORMERR.
//   - Names are matched case-insensitively: the query name, lower-cased and
//     without its trailing dot, is passed as is to [Resolver.Lookup]. Search
//     domains are not stripped, as in Docker: "web." is looked up as "web";
//     "web.example.com." (a stub resolver trying its search list) is looked
//     up as "web.example.com" and, unless the Resolver knows that name (it
//     may answer for "name.network" forms), forwarded.
//   - Class IN (or ANY) queries of type A for a known name get its IPv4
//     addresses, shuffled for round robin, with TTL 600 (none: an empty
//     NOERROR answer). AAAA and MX for a
//     known name get an empty NOERROR answer (Docker does the same: no IPv6
//     here, and an upstream NXDOMAIN would make the stub resolver forget the
//     A records). ANY for a known name gets the A records.
//   - PTR queries for "d.c.b.a.in-addr.arpa" (and full 32-nibble ip6.arpa
//     names) go to [Resolver.LookupAddr]; known addresses are answered with
//     TTL 600, the names made fully qualified.
//   - Everything else is forwarded to [Resolver.Upstreams] in order, each
//     tried for upstreamTimeout (2s): UDP queries over UDP, retried over TCP
//     with the same upstream when its answer is truncated (if that fails the
//     truncated answer is relayed); TCP queries over TCP. The query is sent
//     unchanged except for a fresh random ID; an answer whose ID, QR bit or
//     question does not match is ignored. An upstream that fails, times out
//     or answers SERVFAIL or REFUSED is skipped, as Docker does. The first
//     other answer is relayed with the client's query ID.
//   - No upstreams (an internal network), or every upstream failed: SERVFAIL,
//     as Docker answers.
//   - At most maxForwards (100) forwards are in flight per Server; beyond
//     that queries are answered REFUSED at once (Docker answers REFUSED too
//     when its limit of 100 is reached).
//   - UDP answers larger than the client can take (512 bytes, or the
//     payload size of its EDNS0 OPT record) are truncated: records are
//     dropped from the end, authority section first, and TC is set, so the
//     client retries over TCP. Local answers carry an OPT record (payload
//     size 4096) when the query had one.
//   - TCP: at most maxTCPConns (100) connections at a time (more are closed
//     at once); each may stay idle tcpIdleTimeout (5s) between queries and
//     lives at most tcpLifetime (30s). Queries on one connection are
//     answered in order. A malformed message is skipped; a broken frame
//     closes the connection.
//
// Unlike Docker, there is no "ndots" special case (Docker keeps single-label
// names from going upstream when the user set ndots): every unknown name is
// forwarded. [Serve] fails when lo is down in the namespace, because binding
// would succeed but no client could reach the server.
//
// The Resolver's methods are called from the serving goroutines, concurrently
// and in pouchd's own network namespace; they should return quickly (a UDP
// query answered locally is answered on the socket's reading goroutine).
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/containerd/log"
)

// Address is where the resolver listens inside each container.
var Address = netip.MustParseAddrPort("127.0.0.11:53")

// Resolver answers for one container (the lead implements it from the network service's endpoint tables).
type Resolver interface {
	// Lookup returns the IPv4 addresses of name (lower-cased, no trailing dot) as the container sees them:
	// other containers on networks it shares, by container name, network alias or short ID.
	// ok is false when the name is not one of them: the query is forwarded upstream.
	Lookup(name string) (addrs []netip.Addr, ok bool)
	// LookupAddr returns the names for a reverse (PTR) query of ip; ok false: forward upstream.
	LookupAddr(ip netip.Addr) (names []string, ok bool)
	// Upstreams are the servers other queries go to (from the host's resolv.conf or the container's --dns).
	// Empty means none (an internal network): such queries are answered SERVFAIL, as Docker does.
	// An upstream without a port (port 0) is asked on port 53.
	Upstreams() []netip.AddrPort
}

const (
	// answerTTL is the TTL of local answers (Docker's respTTL).
	answerTTL = 600
	// maxForwards bounds the queries being forwarded at once (Docker's maxConcurrent).
	maxForwards = 100
	// maxTCPConns bounds the client TCP connections open at once.
	maxTCPConns = 100
	// tcpIdleTimeout is how long a client TCP connection may wait for its next query.
	tcpIdleTimeout = 5 * time.Second
	// tcpLifetime bounds a client TCP connection's whole life.
	tcpLifetime = 30 * time.Second
	// writeTimeout bounds writing one answer to a client.
	writeTimeout = 2 * time.Second
	// ednsSize is the UDP payload size advertised in local answers' OPT records.
	ednsSize = 4096
	// maxMsgSize is the largest DNS message (TCP framing limit).
	maxMsgSize = 65535
	// maxUDPQuery is the largest UDP query read; longer datagrams arrive
	// cut short and are dropped as malformed. Real queries are far smaller.
	maxUDPQuery = 4096
)

// upstreamTimeout is how long each upstream gets to answer one query (per
// transport). A variable so tests can shorten it.
var upstreamTimeout = 2 * time.Second

// Server serves one container's resolver. Create it with [Serve].
type Server struct {
	r   Resolver
	udp *net.UDPConn
	tcp *net.TCPListener

	ctx    context.Context // cancelled by Close; ends forwards in flight
	cancel context.CancelFunc

	forwards chan struct{} // semaphore of forwards in flight
	tcpSlots chan struct{} // semaphore of client TCP connections

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	lastBusyLog time.Time // guarded by mu
}

// Serve opens a UDP and a TCP socket on Address inside the network namespace at netnsPath
// (a bind-mounted netns file or /proc/PID/ns/net) and answers queries until Close.
// The loopback interface of that namespace must be up.
func Serve(netnsPath string, r Resolver) (*Server, error) {
	if r == nil {
		return nil, errors.New("dns: nil Resolver")
	}
	udp, tcp, err := listenInNetns(netnsPath, Address)
	if err != nil {
		return nil, fmt.Errorf("dns: listen on %s in %s: %w", Address, netnsPath, err)
	}
	return newServer(r, udp, tcp), nil
}

func newServer(r Resolver, udp *net.UDPConn, tcp *net.TCPListener) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		r:        r,
		udp:      udp,
		tcp:      tcp,
		ctx:      ctx,
		cancel:   cancel,
		forwards: make(chan struct{}, maxForwards),
		tcpSlots: make(chan struct{}, maxTCPConns),
		conns:    make(map[net.Conn]struct{}),
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s
}

// Close stops serving, closes the sockets, and waits for the server's
// goroutines, forwards in flight included (they are cancelled).
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		err := errors.Join(s.udp.Close(), s.tcp.Close())
		s.mu.Lock()
		s.closed = true
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		s.closeErr = err
	})
	return s.closeErr
}

// acquireForward takes a forwarding slot without waiting.
func (s *Server) acquireForward() bool {
	select {
	case s.forwards <- struct{}{}:
		return true
	default:
		s.mu.Lock()
		if now := time.Now(); now.Sub(s.lastBusyLog) > time.Minute {
			s.lastBusyLog = now
			log.L.Warnf("dns: more than %d queries being forwarded, answering REFUSED", maxForwards)
		}
		s.mu.Unlock()
		return false
	}
}

func (s *Server) releaseForward() { <-s.forwards }

// answer returns the reply to req over the given transport, forwarding if it
// must. It returns nil when there is nothing to send.
func (s *Server) answer(req *request, overTCP bool) []byte {
	resp := s.local(req)
	if resp == nil {
		if !s.acquireForward() {
			resp = req.reply(refused)
		} else {
			resp = s.forward(s.ctx, req, overTCP)
			s.releaseForward()
		}
	}
	limit := maxMsgSize
	if !overTCP {
		limit = req.udpSize
	}
	return fit(resp, req, limit)
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, maxUDPQuery)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.L.WithError(err).Debug("dns: read UDP query")
			continue
		}
		req, ok := parseRequest(buf[:n])
		if !ok {
			continue
		}
		if resp := s.local(req); resp != nil {
			s.writeUDP(fit(resp, req, req.udpSize), from)
			continue
		}
		if !s.acquireForward() {
			s.writeUDP(req.reply(refused), from)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			resp := s.forward(s.ctx, req, false)
			s.releaseForward()
			s.writeUDP(fit(resp, req, req.udpSize), from)
		}()
	}
}

func (s *Server) writeUDP(b []byte, to netip.AddrPort) {
	if b == nil {
		return
	}
	if _, err := s.udp.WriteToUDPAddrPort(b, to); err != nil && !errors.Is(err, net.ErrClosed) {
		log.L.WithError(err).Debug("dns: write UDP answer")
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			log.L.WithError(err).Warnf("dns: accept TCP connection; retrying in %v", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		select {
		case s.tcpSlots <- struct{}{}:
		default:
			c.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			<-s.tcpSlots
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
			<-s.tcpSlots
		}()
	}
}

// serveConn answers the queries of one client TCP connection in order.
func (s *Server) serveConn(c net.Conn) {
	end := time.Now().Add(tcpLifetime)
	deadline := func(d time.Duration) time.Time {
		if t := time.Now().Add(d); t.Before(end) {
			return t
		}
		return end
	}
	for {
		if err := c.SetReadDeadline(deadline(tcpIdleTimeout)); err != nil {
			return
		}
		msg, err := readTCPMsg(c)
		if err != nil {
			return
		}
		req, ok := parseRequest(msg)
		if !ok {
			continue
		}
		resp := s.answer(req, true)
		if resp == nil {
			continue
		}
		if err := c.SetWriteDeadline(deadline(writeTimeout)); err != nil {
			return
		}
		if err := writeTCPMsg(c, resp); err != nil {
			return
		}
	}
}
