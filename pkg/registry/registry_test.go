package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
	registrytypes "github.com/moby/moby/api/types/registry"
)

func TestDecodeAuthHeader(t *testing.T) {
	js, _ := json.Marshal(registrytypes.AuthConfig{Username: "alice", Password: "s3cr=t?>", ServerAddress: "r.example:5000"})
	for name, enc := range map[string]*base64.Encoding{
		"url padded": base64.URLEncoding, "url raw": base64.RawURLEncoding, "std": base64.StdEncoding,
	} {
		a, err := DecodeAuthHeader(enc.EncodeToString(js))
		if err != nil || a.Username != "alice" || a.Password != "s3cr=t?>" || a.ServerAddress != "r.example:5000" {
			t.Errorf("%s: got %+v, %v", name, a, err)
		}
	}
	if a, err := DecodeAuthHeader(""); err != nil || a != (registrytypes.AuthConfig{}) {
		t.Errorf("empty header: %+v %v", a, err)
	}
	if a, err := DecodeAuthHeader("e30"); err != nil || a != (registrytypes.AuthConfig{}) { // "{}" unpadded
		t.Errorf("{}: %+v %v", a, err)
	}
	for _, bad := range []string{"***", base64.URLEncoding.EncodeToString([]byte(`{"password":"leak"`))} {
		_, err := DecodeAuthHeader(bad)
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("%q: want invalid argument, got %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "leak") {
			t.Errorf("error shows the header's content: %v", err)
		}
	}
}

func TestFromAuthConfig(t *testing.T) {
	c := FromAuthConfig(registrytypes.AuthConfig{Auth: base64.StdEncoding.EncodeToString([]byte("bob:pa:ss"))})
	if c.Username != "bob" || c.Password != "pa:ss" {
		t.Errorf("auth field: %+v", c)
	}
	c = FromAuthConfig(registrytypes.AuthConfig{Username: "u", Password: "p", Auth: base64.StdEncoding.EncodeToString([]byte("x:y"))})
	if c.Username != "u" || c.Password != "p" {
		t.Errorf("explicit user and password must win: %+v", c)
	}
	if !FromAuthConfig(registrytypes.AuthConfig{}).Empty() {
		t.Error("no credentials should be empty")
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	c := Credentials{Username: "alice", Password: "hunter2", IdentityToken: "tok-id", RegistryToken: "tok-reg"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, c)
		for _, secret := range []string{"hunter2", "tok-id", "tok-reg"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s prints a secret: %s", f, out)
			}
		}
	}
	out := fmt.Sprintf("%v", struct{ C Credentials }{c})
	if strings.Contains(out, "hunter2") {
		t.Errorf("nested credentials print the password: %s", out)
	}
}

func TestNew(t *testing.T) {
	bad := []Config{
		{Insecure: []string{"http://r.example"}},
		{Insecure: []string{"a b"}},
		{Mirrors: []string{"mirror.example"}},
		{Mirrors: []string{"ftp://mirror.example"}},
		{Mirrors: []string{"https://mirror.example/v2/"}},
		{DefaultRegistry: "https://r.example"},
		{DefaultRegistry: "r.example/ns"},
	}
	for _, c := range bad {
		if _, err := New(c); !errdefs.IsInvalidArgument(err) {
			t.Errorf("%+v: want invalid argument, got %v", c, err)
		}
	}
	r, err := New(Config{Insecure: []string{"r.example:5000", "10.1.0.0/16"}, Mirrors: []string{"https://m.example/"}, DefaultRegistry: "Reg.Example:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if r.DefaultRegistry() != "reg.example:5000" {
		t.Errorf("default registry %q", r.DefaultRegistry())
	}
	for host, want := range map[string]bool{
		"r.example:5000": true, "r.example": false, "r.example:5001": false,
		"10.1.2.3:443": true, "10.1.2.3": true, "10.2.0.1:5000": false,
	} {
		if got := r.IsInsecure(host); got != want {
			t.Errorf("IsInsecure(%s) = %v", host, got)
		}
	}
	for _, hub := range []string{"docker.io", "index.docker.io", "registry-1.docker.io"} {
		r, err := New(Config{DefaultRegistry: hub})
		if err != nil || r.DefaultRegistry() != DockerHub {
			t.Errorf("%s as default registry: %v %v", hub, r, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	plain, _ := New(Config{})
	withDefault, _ := New(Config{DefaultRegistry: "reg.example:5000"})
	cases := []struct {
		ref        string
		plain, def string
	}{
		{"busybox", "docker.io/library/busybox:latest", "reg.example:5000/library/busybox:latest"},
		{"library/busybox:1", "docker.io/library/busybox:1", "reg.example:5000/library/busybox:1"},
		{"team/app", "docker.io/team/app:latest", "reg.example:5000/team/app:latest"},
		// Docker's CLI sends "busybox" as "docker.io/library/busybox".
		{"docker.io/library/busybox", "docker.io/library/busybox:latest", "reg.example:5000/library/busybox:latest"},
		{"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "reg.example:5000/library/busybox:latest"},
		{"busybox@sha256:" + strings.Repeat("a", 64), "docker.io/library/busybox@sha256:" + strings.Repeat("a", 64), "reg.example:5000/library/busybox@sha256:" + strings.Repeat("a", 64)},
		{"localhost/app", "localhost/app:latest", "localhost/app:latest"},
		{"127.0.0.1:5000/x/y:v", "127.0.0.1:5000/x/y:v", "127.0.0.1:5000/x/y:v"},
		{"quay.io/a/b", "quay.io/a/b:latest", "quay.io/a/b:latest"},
	}
	for _, c := range cases {
		for _, x := range []struct {
			r    *Registries
			want string
		}{{plain, c.plain}, {withDefault, c.def}} {
			n, err := x.r.Normalize(c.ref)
			if err != nil || n.String() != x.want {
				t.Errorf("Normalize(%q) with default %q = %v, %v; want %s", c.ref, x.r.defaultRegistry, n, err, x.want)
			}
		}
	}
	if _, err := withDefault.Normalize("UPPER"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("bad reference: %v", err)
	}
	got := withDefault.Candidates("busybox")
	if len(got) != 2 || got[0] != "reg.example:5000/library/busybox:latest" || got[1] != "docker.io/library/busybox:latest" {
		t.Errorf("candidates %q", got)
	}
	if got := plain.Candidates("busybox"); len(got) != 1 || got[0] != "docker.io/library/busybox:latest" {
		t.Errorf("candidates without default %q", got)
	}
	if got := withDefault.Candidates("quay.io/a/b"); len(got) != 1 {
		t.Errorf("candidates of another registry %q", got)
	}
}

func TestHostsMirrors(t *testing.T) {
	r, err := New(Config{Mirrors: []string{"https://m1.example", "http://m2.example:5000/"}})
	if err != nil {
		t.Fatal(err)
	}
	creds := Credentials{Username: "alice", Password: "pw"}
	hosts, err := r.Hosts(creds)("docker.io")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		scheme, host string
		push         bool
	}{{"https", "m1.example", false}, {"http", "m2.example:5000", false}, {"https", "registry-1.docker.io", true}}
	if len(hosts) != len(want) {
		t.Fatalf("got %d hosts", len(hosts))
	}
	for i, w := range want {
		h := hosts[i]
		if h.Scheme != w.scheme || h.Host != w.host || h.Path != "/v2" || h.Capabilities.Has(docker.HostCapabilityPush) != w.push ||
			!h.Capabilities.Has(docker.HostCapabilityPull|docker.HostCapabilityResolve) {
			t.Errorf("host %d: %+v", i, h)
		}
	}
	// Mirrors apply to Docker Hub only.
	hosts, err = r.Hosts(creds)("quay.io")
	if err != nil || len(hosts) != 1 || hosts[0].Host != "quay.io" || hosts[0].Scheme != "https" {
		t.Errorf("other registry: %+v %v", hosts, err)
	}
}

// registryServer answers GET /v2/ as a registry behind the given auth.
func registryServer(t *testing.T, user, pass string, bearer bool) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
			u, p, ok = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		}
		if !ok || u != user || p != pass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"token": "good-token", "access_token": "good-token", "expires_in": 300})
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if bearer {
			if r.Header.Get("Authorization") == "Bearer good-token" {
				w.WriteHeader(http.StatusOK)
				return
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test"`, srv.URL))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if u, p, ok := r.BasicAuth(); ok && u == user && p == pass {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	for _, bearer := range []bool{false, true} {
		srv := registryServer(t, "alice", "secret", bearer)
		host := strings.TrimPrefix(srv.URL, "http://")
		// Plain HTTP: reachable only as an insecure registry.
		r, err := New(Config{Insecure: []string{host}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Login(ctx, Credentials{Username: "alice", Password: "secret"}, "http://"+host); err != nil {
			t.Errorf("bearer=%v: good credentials: %v", bearer, err)
		}
		err = r.Login(ctx, Credentials{Username: "alice", Password: "wrong"}, host)
		if !errdefs.IsUnauthorized(err) {
			t.Errorf("bearer=%v: bad credentials: want unauthorized, got %v", bearer, err)
		}
		if err != nil && strings.Contains(err.Error(), "wrong") {
			t.Errorf("the password is in the error: %v", err)
		}
		if err := r.Login(ctx, Credentials{}, host); !errdefs.IsInvalidArgument(err) {
			t.Errorf("no user: %v", err)
		}
		// Not named insecure: TLS is tried and fails.
		strict, _ := New(Config{})
		if err := strict.Login(ctx, Credentials{Username: "alice", Password: "secret"}, host); err == nil || errdefs.IsUnauthorized(err) {
			t.Errorf("secure login to a plain HTTP registry: %v", err)
		}
	}
}

func TestServerHost(t *testing.T) {
	r, _ := New(Config{DefaultRegistry: "reg.example"})
	for in, want := range map[string]string{
		"":                            "reg.example",
		"https://index.docker.io/v1/": "docker.io",
		"registry-1.docker.io":        "docker.io",
		"https://R.example:5000/":     "r.example:5000",
		"127.0.0.1:5000":              "127.0.0.1:5000",
	} {
		if got, err := r.ServerHost(in); err != nil || got != want {
			t.Errorf("ServerHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// testCA is a certificate authority for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for 127.0.0.1 (server) or a client.
func (ca *testCA) issue(t *testing.T, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func TestCertsDir(t *testing.T) {
	serverCA, clientCA := newCA(t), newCA(t)
	certPEM, keyPEM := serverCA.issue(t, false)
	serverCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AddCert(clientCA.cert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: clients, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")

	certs := t.TempDir()
	r, err := New(Config{CertsDir: certs})
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		hosts, err := r.Hosts(Credentials{})(host)
		if err != nil {
			return err
		}
		h := hosts[0]
		resp, err := h.Client.Get(h.Scheme + "://" + h.Host + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := get(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v", err)
	}
	dir := filepath.Join(certs, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", serverCA.pem)
	if err := get(); err == nil {
		t.Fatal("the server requires a client certificate")
	}
	clientCert, clientKey := clientCA.issue(t, true)
	write("client.cert", clientCert)
	if err := get(); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "missing key") {
		t.Fatalf("client.cert without client.key: %v", err)
	}
	write("client.key", clientKey)
	if err := get(); err != nil {
		t.Fatalf("with CA and client pair: %v", err)
	}
}

func TestInsecureFallsBackToHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")
	r, _ := New(Config{Insecure: []string{host, tlsHost}})
	for _, h := range []string{host, tlsHost} {
		hosts, err := r.Hosts(Credentials{})(h)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hosts[0].Client.Get("https://" + h + "/v2/")
		if err != nil {
			t.Errorf("%s: %v", h, err)
			continue
		}
		resp.Body.Close()
	}
}

func TestClassify(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("wrapped: %w", remoteerrors.ErrUnexpectedStatus{StatusCode: code, Status: http.StatusText(code)})
	}
	for _, c := range []struct {
		err  error
		want func(error) bool
	}{
		{status(401), errdefs.IsUnauthorized},
		{status(403), errdefs.IsPermissionDenied},
		{status(404), errdefs.IsNotFound},
		{status(503), errdefs.IsUnavailable},
		{fmt.Errorf("x: %w", docker.ErrInvalidAuthorization), errdefs.IsUnauthorized},
		{&net.OpError{Op: "dial", Err: fmt.Errorf("connection refused")}, errdefs.IsUnavailable},
	} {
		got := Classify(c.err)
		if !c.want(got) {
			t.Errorf("Classify(%v) = %v: wrong class", c.err, got)
		}
		if got.Error() != c.err.Error() {
			t.Errorf("Classify changed the message: %q", got)
		}
	}
	if err := Classify(status(500)); errdefs.IsNotFound(err) || errdefs.IsUnauthorized(err) {
		t.Errorf("500: %v", err)
	}
	if Classify(nil) != nil {
		t.Error("nil")
	}
	if code, ok := StatusCode(status(418)); !ok || code != 418 {
		t.Errorf("StatusCode: %d %v", code, ok)
	}
}
