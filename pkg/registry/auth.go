package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/containerd/errdefs"
	registrytypes "github.com/moby/moby/api/types/registry"
)

// Credentials authenticate the requests of one API call to one registry.
// They never reach a log: String and GoString leave the secrets out.
type Credentials struct {
	Username string
	Password string
	// IdentityToken is a refresh token for the registry's OAuth2 token
	// endpoint (what a login may return instead of keeping the password).
	IdentityToken string
	// RegistryToken is a bearer token sent to the registry as is.
	RegistryToken string
}

// String describes the credentials without their secrets.
func (c Credentials) String() string {
	switch {
	case c.Username != "":
		return fmt.Sprintf("user %q (password redacted)", c.Username)
	case c.IdentityToken != "", c.RegistryToken != "":
		return "token (redacted)"
	}
	return "anonymous"
}

// GoString keeps %#v from printing the secrets.
func (c Credentials) GoString() string { return "registry.Credentials{" + c.String() + "}" }

// Empty reports whether there are no credentials.
func (c Credentials) Empty() bool {
	return c.Username == "" && c.Password == "" && c.IdentityToken == "" && c.RegistryToken == ""
}

// lookup is the credentials function of containerd's authorizer: a user
// and password, or an empty user with a refresh token.
func (c Credentials) lookup(string) (string, string, error) {
	if c.IdentityToken != "" {
		return "", c.IdentityToken, nil
	}
	return c.Username, c.Password, nil
}

// FromAuthConfig takes the credentials out of Docker's wire type; the
// "auth" field (base64 of user:password) fills a missing user and password.
func FromAuthConfig(a registrytypes.AuthConfig) Credentials {
	c := Credentials{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if c.Username == "" && c.Password == "" && a.Auth != "" {
		if b, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			if u, p, ok := strings.Cut(string(b), ":"); ok {
				c.Username, c.Password = u, p
			}
		}
	}
	return c
}

// DecodeAuthHeader decodes the X-Registry-Auth header: base64url (padded
// or not; standard base64 is accepted too) of a JSON AuthConfig. An empty
// header is anonymous.
func DecodeAuthHeader(v string) (registrytypes.AuthConfig, error) {
	var a registrytypes.AuthConfig
	v = strings.TrimSpace(v)
	if v == "" {
		return a, nil
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawURLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if raw, err = enc.DecodeString(v); err == nil {
			break
		}
	}
	if err != nil {
		return a, fmt.Errorf("invalid X-Registry-Auth header: not base64: %w", errdefs.ErrInvalidArgument)
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		// The JSON may hold a password: say only where it failed.
		return registrytypes.AuthConfig{}, fmt.Errorf("invalid X-Registry-Auth header: not a JSON auth configuration: %w", errdefs.ErrInvalidArgument)
	}
	return a, nil
}

// ServerHost turns a login server address into a registry host: "" is the
// default registry; Docker Hub's addresses ("https://index.docker.io/v1/",
// "index.docker.io", "registry-1.docker.io") are docker.io; a scheme and a
// path are dropped.
func (r *Registries) ServerHost(server string) (string, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return r.DefaultRegistry(), nil
	}
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	s, _, _ = strings.Cut(s, "/")
	s = strings.ToLower(s)
	if s == "" || strings.ContainsAny(s, " @") {
		return "", fmt.Errorf("invalid registry address %q: %w", server, errdefs.ErrInvalidArgument)
	}
	switch s {
	case "index.docker.io", dockerHubHost, "registry.hub.docker.com":
		s = DockerHub
	}
	return s, nil
}

// Login checks creds against a registry the way `docker login` does: GET
// /v2/ answering the registry's challenge (basic, or a bearer token from its
// token server) with them. A rejection is an unauthorized error.
func (r *Registries) Login(ctx context.Context, creds Credentials, server string) error {
	host, err := r.ServerHost(server)
	if err != nil {
		return err
	}
	if creds.Username == "" && creds.IdentityToken == "" {
		return fmt.Errorf("a username is required to log in to %s: %w", host, errdefs.ErrInvalidArgument)
	}
	hosts, err := r.Hosts(creds)(host)
	if err != nil {
		return err
	}
	// The registry itself, not a mirror.
	h := hosts[len(hosts)-1]
	u := h.Scheme + "://" + h.Host + h.Path + "/"
	var resps []*http.Response
	defer func() {
		for _, resp := range resps {
			resp.Body.Close()
		}
	}()
	for attempt := 0; attempt < 2; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", userAgent)
		for k, v := range h.Header {
			req.Header[k] = v
		}
		if err := h.Authorizer.Authorize(ctx, req); err != nil {
			return loginError(u, err)
		}
		resp, err := h.Client.Do(req)
		if err != nil {
			return fmt.Errorf("login to %s failed: %v: %w", host, err, errdefs.ErrUnavailable)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resps = append(resps, resp)
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			if err := h.Authorizer.AddResponses(ctx, resps); err != nil {
				return loginError(u, err)
			}
			continue
		case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
			return fmt.Errorf("login attempt to %s failed with status: %s: %w", u, resp.Status, errdefs.ErrUnauthenticated)
		default:
			return fmt.Errorf("login attempt to %s failed with status: %s", u, resp.Status)
		}
	}
	return fmt.Errorf("login attempt to %s failed: %w", u, errdefs.ErrUnauthenticated)
}

// loginError classifies an authorizer failure: a token server that refused
// the credentials is unauthorized; anything else keeps its text.
func loginError(u string, err error) error {
	if c := Classify(err); errdefs.IsUnauthorized(c) || errdefs.IsPermissionDenied(c) {
		return fmt.Errorf("login attempt to %s failed: unauthorized: incorrect username or password: %w", u, errdefs.ErrUnauthenticated)
	}
	if errdefs.IsNotImplemented(err) {
		return fmt.Errorf("login attempt to %s failed: the registry asks for an unsupported authentication scheme: %w", u, errdefs.ErrNotImplemented)
	}
	return fmt.Errorf("login attempt to %s failed: %v", u, err)
}
