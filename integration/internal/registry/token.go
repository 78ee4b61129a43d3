package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// TokenServer issues registry bearer tokens (Docker's token
// authentication: JWTs signed by a key whose certificate the registry
// trusts) to the one account it knows. It serves GET with basic
// credentials and the OAuth2 POST form (grant_type=password) on /token.
type TokenServer struct {
	// Realm is the token endpoint the registry's challenge names.
	Realm   string
	Service string
	Issuer  string

	srv       *httptest.Server
	user      string
	pass      string
	key       *ecdsa.PrivateKey
	certDER   []byte
	rootPEM   []byte
	mu        sync.Mutex
	requests  []TokenRequest
	closeOnce sync.Once
}

// TokenRequest is one request the token server answered.
type TokenRequest struct {
	Method  string
	User    string   // the user the client authenticated as ("" if none)
	Scopes  []string // requested scopes
	Granted bool     // a token was issued
}

func newTokenServer(user, pass, service, issuer string) (*TokenServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "pouch test token signer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	ts := &TokenServer{
		Service: service, Issuer: issuer, user: user, pass: pass,
		key: key, certDER: der, rootPEM: pemBlock("CERTIFICATE", der),
	}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve)) // listens on 127.0.0.1
	ts.Realm = ts.srv.URL + "/token"
	return ts, nil
}

// Close stops the token server.
func (ts *TokenServer) Close() { ts.closeOnce.Do(ts.srv.Close) }

// Requests returns the requests answered so far.
func (ts *TokenServer) Requests() []TokenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]TokenRequest(nil), ts.requests...)
}

// Granted counts the tokens issued so far.
func (ts *TokenServer) Granted() int {
	n := 0
	for _, r := range ts.Requests() {
		if r.Granted {
			n++
		}
	}
	return n
}

func (ts *TokenServer) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/token" {
		http.NotFound(w, req)
		return
	}
	var user, pass, service string
	var scopes []string
	switch req.Method {
	case http.MethodGet:
		user, pass, _ = req.BasicAuth()
		q := req.URL.Query()
		service = q.Get("service")
		for _, s := range q["scope"] {
			scopes = append(scopes, strings.Fields(s)...)
		}
	case http.MethodPost:
		if err := req.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if req.PostForm.Get("grant_type") != "password" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		user, pass = req.PostForm.Get("username"), req.PostForm.Get("password")
		service = req.PostForm.Get("service")
		scopes = strings.Fields(req.PostForm.Get("scope"))
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ok := user == ts.user && pass == ts.pass && (service == "" || service == ts.Service)
	ts.mu.Lock()
	ts.requests = append(ts.requests, TokenRequest{Method: req.Method, User: user, Scopes: scopes, Granted: ok})
	ts.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}`))
		return
	}
	token, err := ts.sign(user, scopes)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token": token, "access_token": token, "expires_in": 300,
		"issued_at": time.Now().UTC().Format(time.RFC3339),
	})
}

type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// sign makes an ES256 JWT granting every requested scope, with the signing
// certificate in its x5c header (distribution 2.8 verifies that chain
// against its rootcertbundle).
func (ts *TokenServer) sign(user string, scopes []string) (string, error) {
	access := []resourceActions{}
	for _, s := range scopes {
		parts := strings.Split(s, ":")
		if len(parts) < 3 {
			continue
		}
		access = append(access, resourceActions{
			Type:    parts[0],
			Name:    strings.Join(parts[1:len(parts)-1], ":"),
			Actions: strings.Split(parts[len(parts)-1], ","),
		})
	}
	now := time.Now()
	header := map[string]any{"typ": "JWT", "alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(ts.certDER)}}
	claims := map[string]any{
		"iss": ts.Issuer, "sub": user, "aud": ts.Service,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Second).Unix(), "iat": now.Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(serial().Bytes()), "access": access,
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cj, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(hj) + "." + base64.RawURLEncoding.EncodeToString(cj)
	sum := sha256.Sum256([]byte(signing))
	rr, ss, err := ecdsa.Sign(rand.Reader, ts.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
