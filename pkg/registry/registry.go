// Package registry holds how pouchd reaches image registries: TLS per host
// from a certificates directory in Docker's layout, insecure registries,
// mirrors for Docker Hub, the default registry for names without one, and
// the credentials of one request. It turns that configuration into the
// registry hosts containerd's docker resolver works with.
package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
)

// DockerHub is the registry unqualified names belong to without a default
// registry, and the only one mirrors serve.
const DockerHub = "docker.io"

// dockerHubHost is where Docker Hub's registry API is served.
const dockerHubHost = "registry-1.docker.io"

// DefaultCertsDir is where per-registry certificates are looked for.
const DefaultCertsDir = "/etc/pouch/certs.d"

// Config is the registry configuration of the daemon.
type Config struct {
	// CertsDir holds one directory per registry, named HOST or HOST:PORT,
	// with CA certificates (*.crt) and client key pairs (*.cert + *.key).
	CertsDir string
	// Insecure lists registries (HOST[:PORT] or a CIDR) reached with an
	// unverified certificate, or over plain HTTP when they do not speak TLS.
	Insecure []string
	// Mirrors are URLs of Docker Hub mirrors, tried in order before Docker Hub.
	Mirrors []string
	// DefaultRegistry is the registry of names given without one ("" is
	// Docker Hub).
	DefaultRegistry string
}

// Registries is the validated configuration. It is safe for concurrent use.
type Registries struct {
	certsDir        string
	insecureHosts   map[string]bool
	insecureNets    []*net.IPNet
	mirrors         []*url.URL
	defaultRegistry string

	mu         sync.Mutex
	transports map[string]http.RoundTripper // by host and TLS configuration
}

// New validates cfg.
func New(cfg Config) (*Registries, error) {
	r := &Registries{
		certsDir:      cfg.CertsDir,
		insecureHosts: map[string]bool{},
		transports:    map[string]http.RoundTripper{},
	}
	for _, entry := range cfg.Insecure {
		e := strings.TrimSpace(entry)
		if strings.Contains(e, "://") {
			return nil, fmt.Errorf("insecure registry %q should not contain '://': %w", entry, errdefs.ErrInvalidArgument)
		}
		e = strings.TrimSuffix(e, "/")
		if _, n, err := net.ParseCIDR(e); err == nil {
			r.insecureNets = append(r.insecureNets, n)
			continue
		}
		if e == "" || strings.ContainsAny(e, "/ ") {
			return nil, fmt.Errorf("invalid insecure registry %q: want HOST[:PORT] or a CIDR: %w", entry, errdefs.ErrInvalidArgument)
		}
		r.insecureHosts[strings.ToLower(e)] = true
	}
	for _, m := range cfg.Mirrors {
		u, err := parseMirror(m)
		if err != nil {
			return nil, err
		}
		r.mirrors = append(r.mirrors, u)
	}
	if cfg.DefaultRegistry != "" {
		d, err := parseDefaultRegistry(cfg.DefaultRegistry)
		if err != nil {
			return nil, err
		}
		r.defaultRegistry = d
	}
	return r, nil
}

func parseMirror(m string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(m))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid registry mirror %q: want http(s)://HOST[:PORT]: %w", m, errdefs.ErrInvalidArgument)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("invalid registry mirror %q: path, query, fragment or user info at end of the URI: %w", m, errdefs.ErrInvalidArgument)
	}
	u.Path = ""
	return u, nil
}

func parseDefaultRegistry(d string) (string, error) {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "/"))
	if strings.Contains(d, "://") || strings.ContainsAny(d, "/ @") || d == "" {
		return "", fmt.Errorf("invalid default registry %q: want HOST[:PORT]: %w", d, errdefs.ErrInvalidArgument)
	}
	switch d {
	case DockerHub, "index.docker.io", dockerHubHost, "registry.hub.docker.com":
		return "", nil
	}
	return d, nil
}

// DefaultRegistry returns the registry of names given without one.
func (r *Registries) DefaultRegistry() string {
	if r.defaultRegistry == "" {
		return DockerHub
	}
	return r.defaultRegistry
}

// Resolver returns a resolver that authenticates with creds. A tracker,
// when given, sees the progress of pushes.
func (r *Registries) Resolver(creds Credentials, tracker docker.StatusTracker) remotes.Resolver {
	return docker.NewResolver(docker.ResolverOptions{
		Hosts:   r.Hosts(creds),
		Tracker: tracker,
		Headers: http.Header{"User-Agent": []string{userAgent}},
	})
}

const userAgent = "pouch"

// Hosts returns the endpoints of a registry, in the order they are tried:
// for Docker Hub its mirrors (pull and resolve only, never given the
// credentials) and then Docker Hub itself; for any other registry the
// registry. creds go to the registry itself only.
func (r *Registries) Hosts(creds Credentials) docker.RegistryHosts {
	return func(host string) ([]docker.RegistryHost, error) {
		var out []docker.RegistryHost
		target := host
		if host == DockerHub {
			for _, m := range r.mirrors {
				h, err := r.endpoint(m.Host, m.Scheme, docker.HostCapabilityPull|docker.HostCapabilityResolve, Credentials{})
				if err != nil {
					return nil, err
				}
				out = append(out, h)
			}
			target = dockerHubHost
		}
		h, err := r.endpoint(target, "https", docker.HostCapabilityPull|docker.HostCapabilityResolve|docker.HostCapabilityPush, creds)
		if err != nil {
			return nil, err
		}
		return append(out, h), nil
	}
}

// endpoint builds one registry host. An insecure host is tried over TLS
// without verification and falls back to plain HTTP when it does not speak
// TLS.
func (r *Registries) endpoint(host, scheme string, caps docker.HostCapabilities, creds Credentials) (docker.RegistryHost, error) {
	insecure := r.IsInsecure(host)
	tr, err := r.transport(host, insecure)
	if err != nil {
		return docker.RegistryHost{}, err
	}
	client := &http.Client{Transport: tr}
	h := docker.RegistryHost{
		Client:       client,
		Host:         host,
		Scheme:       scheme,
		Path:         "/v2",
		Capabilities: caps,
		Authorizer: docker.NewDockerAuthorizer(
			docker.WithAuthClient(client),
			docker.WithAuthCreds(creds.lookup),
		),
	}
	if creds.RegistryToken != "" {
		h.Header = http.Header{"Authorization": []string{"Bearer " + creds.RegistryToken}}
	}
	return h, nil
}

// transport returns the (shared, so connections are reused) transport for
// host with its current TLS files; a change of the files gives a new one.
func (r *Registries) transport(host string, insecure bool) (http.RoundTripper, error) {
	files, err := r.tlsFiles(host)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s|%t|%s", host, insecure, files.fingerprint())
	r.mu.Lock()
	defer r.mu.Unlock()
	if tr, ok := r.transports[key]; ok {
		return tr, nil
	}
	cfg, err := files.config()
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", host, err)
	}
	if insecure {
		cfg.InsecureSkipVerify = true
	}
	base := docker.DefaultHTTPTransport(cfg)
	base.MaxIdleConnsPerHost = 8
	var tr http.RoundTripper = base
	if insecure {
		tr = docker.NewHTTPFallback(base)
	}
	// Drop the transports of this host built from older TLS files.
	for k, old := range r.transports {
		if strings.HasPrefix(k, host+"|") {
			if t, ok := old.(interface{ CloseIdleConnections() }); ok {
				t.CloseIdleConnections()
			}
			delete(r.transports, k)
		}
	}
	r.transports[key] = tr
	return tr, nil
}

// IsInsecure reports whether host (HOST[:PORT]) was named insecure, by
// name or by an address in an insecure CIDR.
func (r *Registries) IsInsecure(host string) bool {
	host = strings.ToLower(host)
	if r.insecureHosts[host] {
		return true
	}
	if len(r.insecureNets) == 0 {
		return false
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.Trim(name, "[]")
	var ips []net.IP
	if ip := net.ParseIP(name); ip != nil {
		ips = []net.IP{ip}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, name)
		if err != nil {
			return false
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		for _, n := range r.insecureNets {
			if n.Contains(ip) {
				return true
			}
		}
	}
	return false
}
