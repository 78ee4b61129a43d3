// Package registry runs a real container registry for integration tests:
// Debian's docker-registry (github.com/docker/distribution 2.8) on a free
// 127.0.0.1 port with a generated configuration, optionally behind TLS from
// a CA the test generates, htpasswd basic auth or the bearer-token flow
// backed by a small in-test token server. Beside it: a proxy that injects
// faults and counts requests (proxy.go), and helpers that put test images
// into a registry without going through pouchd (push.go).
package registry

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Binary is Debian's registry (package docker-registry).
const Binary = "/usr/bin/docker-registry"

// ErrNoRegistry means the registry binary is not installed.
var ErrNoRegistry = errors.New("registry: " + Binary + " not installed (apt-get install docker-registry)")

// Auth kinds.
const (
	AuthNone  = ""
	AuthBasic = "basic"
	AuthToken = "token"
)

// Registry is one running docker-registry.
type Registry struct {
	// Host is "127.0.0.1:PORT", the registry part of image references.
	Host string
	// URL is "http://Host" or "https://Host".
	URL string
	// Dir holds the configuration, the storage, the certificates and the log.
	Dir string
	// CertsDir is the directory to give pouchd as --certs-dir: it holds
	// Host/ca.crt (and Host/client.cert, Host/client.key with client
	// authentication). Empty without TLS.
	CertsDir string
	// CA is the PEM certificate of the CA that signed the server's
	// certificate (TLS only).
	CA []byte
	// Auth is AuthNone, AuthBasic or AuthToken.
	Auth string
	// User and Password are the one account the registry (or its token
	// server) accepts.
	User, Password string
	// Token is the token server of a registry with AuthToken.
	Token *TokenServer

	opts    options
	cmd     *exec.Cmd
	exited  chan struct{}
	logf    *os.File
	stopped sync.Once
	ca      *authority
}

// Option configures a registry.
type Option func(*options)

type options struct {
	tls        bool
	clientAuth bool
	certsDir   string
	auth       string
	user, pass string
}

// WithTLS serves HTTPS with a server certificate for 127.0.0.1 signed by a
// CA generated for this registry. The CA is written to
// certsDir/127.0.0.1:PORT/ca.crt, Docker's certs.d layout; certsDir ""
// means a directory of the registry's own (Registry.CertsDir).
func WithTLS(certsDir string) Option {
	return func(o *options) { o.tls, o.certsDir = true, certsDir }
}

// WithClientAuth (with WithTLS) makes the registry require a client
// certificate signed by its CA, and writes one as client.cert and
// client.key beside ca.crt.
func WithClientAuth() Option {
	return func(o *options) { o.clientAuth = true }
}

// WithBasicAuth protects the registry with htpasswd basic auth accepting
// only user:password.
func WithBasicAuth(user, password string) Option {
	return func(o *options) { o.auth, o.user, o.pass = AuthBasic, user, password }
}

// WithTokenAuth protects the registry with the bearer-token flow: a
// challenge naming an in-test token server, which issues signed JWTs to
// user:password.
func WithTokenAuth(user, password string) Option {
	return func(o *options) { o.auth, o.user, o.pass = AuthToken, user, password }
}

// Start runs a registry for the test and stops it, removing everything,
// when the test ends. It skips the test when docker-registry is missing.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	r, err := New(opts...)
	if errors.Is(err, ErrNoRegistry) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// New runs a registry; Close stops it and removes its directory. For
// TestMain, where there is no testing.TB; tests use Start.
func New(opts ...Option) (*Registry, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, ErrNoRegistry
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir, err := os.MkdirTemp("", "pouch-registry-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken before the registry binds it
		r, err := launch(dir, o)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if !errors.Is(err, errExitedEarly) {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

var errExitedEarly = errors.New("registry exited at start")

func launch(dir string, o options) (*Registry, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{
		Host: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, Auth: o.auth,
		User: o.user, Password: o.pass, opts: o,
	}
	r.URL = "http://" + r.Host
	if o.tls {
		r.URL = "https://" + r.Host
		r.CertsDir = o.certsDir
		if r.CertsDir == "" {
			r.CertsDir = filepath.Join(dir, "certs.d")
		}
		if err := r.writeTLS(); err != nil {
			return nil, err
		}
	}
	if o.auth == AuthToken {
		ts, err := newTokenServer(o.user, o.pass, "pouch-test-registry", "pouch-test-issuer")
		if err != nil {
			return nil, err
		}
		r.Token = ts
		if err := os.WriteFile(filepath.Join(dir, "token-roots.pem"), ts.rootPEM, 0o644); err != nil {
			ts.Close()
			return nil, err
		}
	}
	if o.auth == AuthBasic {
		hash, err := bcrypt.GenerateFromPassword([]byte(o.pass), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(o.user+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(r.config()), 0o600); err != nil {
		r.closeToken()
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "registry.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		r.closeToken()
		return nil, err
	}
	cmd := exec.Command(Binary, "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		r.closeToken()
		return nil, err
	}
	r.cmd, r.logf, r.exited = cmd, logf, make(chan struct{})
	go func() { _ = cmd.Wait(); close(r.exited) }()
	if err := r.waitUp(10 * time.Second); err != nil {
		r.Stop()
		r.closeToken()
		return nil, err
	}
	return r, nil
}

// config is the registry's YAML configuration.
func (r *Registry) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: pouch-test-secret
`, filepath.Join(r.Dir, "data"), r.Host)
	if r.opts.tls {
		fmt.Fprintf(&b, "  tls:\n    certificate: %s\n    key: %s\n",
			filepath.Join(r.Dir, "server.crt"), filepath.Join(r.Dir, "server.key"))
		if r.opts.clientAuth {
			fmt.Fprintf(&b, "    clientcas:\n      - %s\n", filepath.Join(r.Dir, "ca.crt"))
		}
	}
	switch r.Auth {
	case AuthBasic:
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: pouch-test\n    path: %s\n", filepath.Join(r.Dir, "htpasswd"))
	case AuthToken:
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
			r.Token.Realm, r.Token.Service, r.Token.Issuer, filepath.Join(r.Dir, "token-roots.pem"))
	}
	return b.String()
}

// waitUp waits until GET /v2/ answers (200, or 401 behind auth).
func (r *Registry) waitUp(limit time.Duration) error {
	c := r.plainClient()
	c.Timeout = time.Second
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			return fmt.Errorf("%w: %s", errExitedEarly, r.Log())
		default:
		}
		resp, err := c.Get(r.URL + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("registry on %s did not answer /v2/ within %s: %s", r.Host, limit, r.Log())
}

// Ref is the image reference Host/repo:tag (or Host/repo@digest when tag
// starts with "sha256:").
func (r *Registry) Ref(repo, tag string) string {
	if strings.HasPrefix(tag, "sha256:") {
		return r.Host + "/" + repo + "@" + tag
	}
	return r.Host + "/" + repo + ":" + tag
}

// Log returns what the registry printed (warnings and errors).
func (r *Registry) Log() string {
	b, _ := os.ReadFile(filepath.Join(r.Dir, "registry.log"))
	return string(b)
}

// Stop kills the registry and waits for it; its storage stays until Close.
// Tests of an unreachable registry call it early.
func (r *Registry) Stop() {
	r.stopped.Do(func() {
		if r.cmd == nil {
			return
		}
		_ = r.cmd.Process.Kill()
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
		}
		r.logf.Close()
	})
}

// Close stops the registry and its token server and removes its directory
// (including a certs dir of its own).
func (r *Registry) Close() {
	r.Stop()
	r.closeToken()
	if r.opts.tls && r.opts.certsDir != "" {
		_ = os.RemoveAll(filepath.Join(r.opts.certsDir, r.Host))
	}
	_ = os.RemoveAll(r.Dir)
}

func (r *Registry) closeToken() {
	if r.Token != nil {
		r.Token.Close()
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ClosedPort returns "127.0.0.1:PORT" where nothing listens, for tests of
// an unreachable registry.
func ClosedPort() (string, error) {
	p, err := FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}
