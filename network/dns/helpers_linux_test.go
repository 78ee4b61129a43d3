package dns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
}

// onLockedThread runs f on a fresh locked OS thread and returns its error.
// f returns whether the thread is back in its original network namespace;
// if not, the thread stays locked and the runtime discards it.
func onLockedThread(f func() (restored bool, err error)) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := f()
		if restored {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// newNetns creates a network namespace bind-mounted under t.TempDir(),
// brings its loopback up when loUp, and removes it when the test ends.
func newNetns(t *testing.T, loUp bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mounted := false
	err := onLockedThread(func() (bool, error) {
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return true, err
		}
		defer unix.Close(orig)
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return true, fmt.Errorf("unshare: %w", err)
		}
		err = unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, "")
		if err == nil {
			mounted = true
			if loUp {
				err = setLoopbackUp()
			}
		}
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		return true, err
	})
	if mounted {
		t.Cleanup(func() {
			if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", path, err)
			}
		})
	}
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	return path
}

// setLoopbackUp sets lo up in the current thread's network namespace.
func setLoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}

// inNetns runs f on a locked thread inside the network namespace at path.
func inNetns(path string, f func() error) error {
	return onLockedThread(func() (bool, error) {
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return true, err
		}
		defer unix.Close(orig)
		target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return true, err
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			return true, err
		}
		err = f()
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		return true, err
	})
}

// dialIn dials Address from inside the network namespace at path. The
// socket lives in that namespace; it is used from any goroutine afterwards.
func dialIn(path, network string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(path, func() error {
		var err error
		c, err = net.DialTimeout(network, Address.String(), time.Second)
		return err
	})
	return c, err
}

func mustDialIn(t *testing.T, path, network string) net.Conn {
	t.Helper()
	c, err := dialIn(path, network)
	if err != nil {
		t.Fatalf("dial %s %s in %s: %v", network, Address, path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustServe(t *testing.T, path string, r Resolver) *Server {
	t.Helper()
	s, err := Serve(path, r)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// send writes msg on c (framed on stream connections).
func send(c net.Conn, msg []byte) error {
	if _, ok := c.(*net.TCPConn); ok {
		return writeTCPMsg(c, msg)
	}
	_, err := c.Write(msg)
	return err
}

// recv reads one message from c within d, returning its raw bytes.
func recv(c net.Conn, d time.Duration) ([]byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return nil, err
	}
	if _, ok := c.(*net.TCPConn); ok {
		return readTCPMsg(c)
	}
	buf := make([]byte, maxMsgSize)
	n, err := c.Read(buf)
	return buf[:n], err
}

var nextID uint16 = 0x1000

// ask sends a query for name and typ on c and returns the parsed answer,
// checking its ID and raw size.
func ask(t *testing.T, c net.Conn, name string, typ dnsmessage.Type) (dnsmessage.Message, int) {
	t.Helper()
	nextID++
	id := nextID
	if err := send(c, buildQuery(t, id, name, typ, 0)); err != nil {
		t.Fatalf("send %s %s: %v", name, typ, err)
	}
	for {
		raw, err := recv(c, 3*time.Second)
		if err != nil {
			t.Fatalf("answer to %s %s: %v", name, typ, err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(raw); err != nil {
			t.Fatalf("unpack answer to %s %s: %v", name, typ, err)
		}
		if m.Header.ID != id {
			continue // a late answer to an earlier query
		}
		if !m.Header.Response {
			t.Fatalf("answer to %s %s is not a response", name, typ)
		}
		return m, len(raw)
	}
}

// aRecords returns the A records of m's answer section, sorted as strings.
func aRecords(t *testing.T, m dnsmessage.Message) []string {
	t.Helper()
	var out []string
	for _, r := range m.Answers {
		a, ok := r.Body.(*dnsmessage.AResource)
		if !ok {
			t.Fatalf("answer %v is not an A record", r)
		}
		out = append(out, netip.AddrFrom4(a.A).String())
	}
	return out
}

// fakeResolver is a Resolver from fixed tables.
type fakeResolver struct {
	names     map[string][]netip.Addr
	ptrs      map[netip.Addr][]string
	upstreams []netip.AddrPort

	mu      sync.Mutex
	lookups []string
}

func (r *fakeResolver) Lookup(name string) ([]netip.Addr, bool) {
	r.mu.Lock()
	r.lookups = append(r.lookups, name)
	r.mu.Unlock()
	a, ok := r.names[name]
	return a, ok
}

func (r *fakeResolver) LookupAddr(ip netip.Addr) ([]string, bool) {
	n, ok := r.ptrs[ip]
	return n, ok
}

func (r *fakeResolver) Upstreams() []netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.upstreams
}

func (r *fakeResolver) setUpstreams(ups ...netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.upstreams = ups
}

// fakeUpstream is a DNS server on 127.0.0.1 in the host network namespace,
// on the same port over UDP and TCP.
type fakeUpstream struct {
	addr    netip.AddrPort
	udp     *net.UDPConn
	tcp     *net.TCPListener
	handler func(q dnsmessage.Message, overTCP bool) *dnsmessage.Message // nil: no answer

	mu  sync.Mutex
	got []string // "udp name type" per query
	wg  sync.WaitGroup
}

func newFakeUpstream(t *testing.T, handler func(q dnsmessage.Message, overTCP bool) *dnsmessage.Message) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{handler: handler}
	var err error
	for range 10 {
		u.udp, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		u.addr = u.udp.LocalAddr().(*net.UDPAddr).AddrPort()
		u.tcp, err = net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(u.addr))
		if err == nil {
			break
		}
		u.udp.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	u.wg.Add(2)
	go u.serveUDP()
	go u.serveTCP()
	t.Cleanup(func() {
		u.udp.Close()
		u.tcp.Close()
		u.wg.Wait()
	})
	return u
}

func (u *fakeUpstream) queries() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.got...)
}

func (u *fakeUpstream) respond(raw []byte, overTCP bool) []byte {
	var q dnsmessage.Message
	if err := q.Unpack(raw); err != nil || len(q.Questions) == 0 {
		return nil
	}
	proto := "udp"
	if overTCP {
		proto = "tcp"
	}
	u.mu.Lock()
	u.got = append(u.got, fmt.Sprintf("%s %s %s", proto, q.Questions[0].Name, q.Questions[0].Type))
	u.mu.Unlock()
	m := u.handler(q, overTCP)
	if m == nil {
		return nil
	}
	m.Header.ID = q.Header.ID
	m.Header.Response = true
	if m.Questions == nil {
		m.Questions = q.Questions
	}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

func (u *fakeUpstream) serveUDP() {
	defer u.wg.Done()
	buf := make([]byte, maxMsgSize)
	for {
		n, from, err := u.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if b := u.respond(buf[:n], false); b != nil {
			u.udp.WriteToUDPAddrPort(b, from)
		}
	}
}

func (u *fakeUpstream) serveTCP() {
	defer u.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := u.tcp.Accept()
		if err != nil {
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			for {
				msg, err := readTCPMsg(c)
				if err != nil {
					return
				}
				if b := u.respond(msg, true); b != nil {
					writeTCPMsg(c, b)
				}
			}
		}()
	}
}

func aAnswer(name dnsmessage.Name, ips ...string) []dnsmessage.Resource {
	var rs []dnsmessage.Resource
	for _, ip := range ips {
		rs = append(rs, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 30},
			Body:   &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()},
		})
	}
	return rs
}

// checkNoLeak fails if goroutines of a Server are still around.
func checkNoLeak(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "network/dns.(*Server)") || strings.Contains(g, "network/dns.exchange") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkThreadsInHostNetns fails if a thread of this process is not in the
// process's network namespace (a thread left behind by a setns).
func checkThreadsInHostNetns(t *testing.T) {
	t.Helper()
	want, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		got, err := os.Readlink(filepath.Join("/proc/self/task", task.Name(), "ns/net"))
		if err != nil {
			continue // the thread exited
		}
		if got != want {
			t.Errorf("thread %s is in %s, want %s", task.Name(), got, want)
		}
	}
}
