package registry

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// authority is a certificate authority generated for one test.
type authority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

func newAuthority(name string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"pouch integration tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, certPEM: pemBlock("CERTIFICATE", der)}, nil
}

// issue signs a leaf certificate; server certificates name 127.0.0.1.
func (a *authority) issue(name string, server bool) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), pemBlock("PRIVATE KEY", kder), nil
}

// writeTLS generates the CA and the server certificate, and writes the CA
// (and a client certificate) in Docker's certs.d layout.
func (r *Registry) writeTLS() error {
	ca, err := newAuthority("pouch test CA " + r.Host)
	if err != nil {
		return err
	}
	r.ca, r.CA = ca, ca.certPEM
	crt, key, err := ca.issue("127.0.0.1", true)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		filepath.Join(r.Dir, "server.crt"):          crt,
		filepath.Join(r.Dir, "server.key"):          key,
		filepath.Join(r.Dir, "ca.crt"):              ca.certPEM,
		filepath.Join(r.CertsDir, r.Host, "ca.crt"): ca.certPEM,
	}
	if r.opts.clientAuth {
		ccrt, ckey, err := ca.issue("pouch test client", false)
		if err != nil {
			return err
		}
		files[filepath.Join(r.CertsDir, r.Host, "client.cert")] = ccrt
		files[filepath.Join(r.CertsDir, r.Host, "client.key")] = ckey
	}
	for path, data := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// tlsConfig trusts the registry's CA and presents its client certificate.
func (r *Registry) tlsConfig() *tls.Config {
	if !r.opts.tls {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CA)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if r.opts.clientAuth {
		dir := filepath.Join(r.CertsDir, r.Host)
		if pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.cert"), filepath.Join(dir, "client.key")); err == nil {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	return cfg
}

// plainClient reaches the registry (trusting its CA) without credentials.
func (r *Registry) plainClient() *http.Client {
	return &http.Client{Transport: r.transport(), Timeout: time.Minute}
}

func (r *Registry) transport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:     r.tlsConfig(),
		Proxy:               nil,
		MaxIdleConnsPerHost: 4,
	}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}
