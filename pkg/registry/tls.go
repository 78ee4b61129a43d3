package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
)

// tlsFiles are the certificate files of one registry, in Docker's layout:
// <certs-dir>/HOST[:PORT]/ holds CA certificates (*.crt) and client key
// pairs (NAME.cert with NAME.key).
type tlsFiles struct {
	dir   string
	cas   []string
	pairs [][2]string
	stamp []string // name, size and mtime of each file, to notice changes
}

// tlsFiles reads the directory of host. A missing directory is no TLS
// configuration; a key without its certificate (or the reverse) is an error.
func (r *Registries) tlsFiles(host string) (*tlsFiles, error) {
	out := &tlsFiles{}
	if r.certsDir == "" {
		return out, nil
	}
	dir := filepath.Join(r.certsDir, host)
	if filepath.Dir(dir) != filepath.Clean(r.certsDir) {
		return nil, fmt.Errorf("invalid registry host %q: %w", host, errdefs.ErrInvalidArgument)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read certificates of %s: %w", host, err)
	}
	out.dir = dir
	has := map[string]bool{}
	for _, e := range entries {
		has[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".crt"):
			out.cas = append(out.cas, filepath.Join(dir, name))
		case strings.HasSuffix(name, ".cert"):
			key := strings.TrimSuffix(name, ".cert") + ".key"
			if !has[key] {
				return nil, fmt.Errorf("missing key %s for client certificate %s in %s (CA certificates must use the extension .crt): %w", key, name, dir, errdefs.ErrInvalidArgument)
			}
			out.pairs = append(out.pairs, [2]string{filepath.Join(dir, name), filepath.Join(dir, key)})
		case strings.HasSuffix(name, ".key"):
			cert := strings.TrimSuffix(name, ".key") + ".cert"
			if !has[cert] {
				return nil, fmt.Errorf("missing client certificate %s for key %s in %s: %w", cert, name, dir, errdefs.ErrInvalidArgument)
			}
		default:
			continue
		}
		if fi, err := e.Info(); err == nil {
			out.stamp = append(out.stamp, fmt.Sprintf("%s:%d:%d", name, fi.Size(), fi.ModTime().UnixNano()))
		}
	}
	sort.Strings(out.stamp)
	return out, nil
}

func (f *tlsFiles) fingerprint() string {
	return f.dir + "|" + strings.Join(f.stamp, ",")
}

// config builds the TLS configuration: the system's CAs plus the
// directory's, and the client key pairs.
func (f *tlsFiles) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(f.cas) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, ca := range f.cas {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, err
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("no certificate found in CA file %s: %w", ca, errdefs.ErrInvalidArgument)
			}
		}
		cfg.RootCAs = pool
	}
	for _, p := range f.pairs {
		cert, err := tls.LoadX509KeyPair(p[0], p[1])
		if err != nil {
			return nil, fmt.Errorf("load client key pair %s: %v: %w", p[0], err, errdefs.ErrInvalidArgument)
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	return cfg, nil
}
