// Package server is pouchd's HTTP server: the Docker Engine API on unix
// (or TCP) sockets, routing, versioned paths, and the error-to-status table.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/containerd/log"
)

// API versions: what we advertise, and the oldest we accept.
const (
	APIVersion    = "1.51"
	MinAPIVersion = "1.24"
)

// HandlerFunc handles one route. It writes the response on success and
// returns an error otherwise; the server turns errors into Docker's JSON.
type HandlerFunc func(ctx context.Context, w http.ResponseWriter, r *http.Request, vars map[string]string) error

// Route is one entry of a router's table.
type Route struct {
	Method  string
	Path    string // with {name} parts; {name:.*} matches slashes
	Handler HandlerFunc
}

// Router provides routes.
type Router interface {
	Routes() []Route
}

type compiled struct {
	method  string
	re      *regexp.Regexp
	names   []string
	handler HandlerFunc
}

// Server serves the API.
type Server struct {
	routes []compiled
	srv    *http.Server
	// RequestContext adds request-scoped values (such as the store
	// namespace) to each request's context.
	RequestContext func(context.Context) context.Context
}

var (
	partRE    = regexp.MustCompile(`\{([a-zA-Z]+)(:[^}]*)?\}`)
	versionRE = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)
)

// New builds a server from routers.
func New(routers ...Router) *Server {
	s := &Server{}
	for _, rt := range routers {
		for _, r := range rt.Routes() {
			var names []string
			pattern := "^" + partRE.ReplaceAllStringFunc(r.Path, func(m string) string {
				sub := partRE.FindStringSubmatch(m)
				names = append(names, sub[1])
				if sub[2] != "" {
					return "(" + sub[2][1:] + ")"
				}
				return "([^/]+)"
			}) + "$"
			s.routes = append(s.routes, compiled{method: r.Method, re: regexp.MustCompile(pattern), names: names, handler: r.Handler})
		}
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	return s
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if m := versionRE.FindStringSubmatch(path); m != nil {
		if versionLess(m[1], MinAPIVersion) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", m[1], MinAPIVersion))
			return
		}
		path = m[2]
	}
	w.Header().Set("Api-Version", APIVersion)
	w.Header().Set("Server", "Pouch")
	w.Header().Set("Docker-Experimental", "false")
	w.Header().Set("Ostype", "linux")
	methodMismatch := false
	for _, rt := range s.routes {
		m := rt.re.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		if rt.method != r.Method {
			methodMismatch = true
			continue
		}
		vars := map[string]string{}
		for i, n := range rt.names {
			vars[n] = m[i+1]
		}
		ctx := r.Context()
		if s.RequestContext != nil {
			ctx = s.RequestContext(ctx)
		}
		if err := rt.handler(ctx, w, r, vars); err != nil {
			status := StatusFor(err)
			if status >= 500 {
				log.G(ctx).WithError(err).WithField("path", r.URL.Path).Error("request failed")
			} else {
				log.G(ctx).WithError(err).WithField("path", r.URL.Path).Debug("request refused")
			}
			if status == http.StatusNotModified {
				w.WriteHeader(status)
				return
			}
			writeError(w, status, Message(err))
		}
		return
	}
	if methodMismatch {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	writeError(w, http.StatusNotFound, "page not found")
}

// Message strips the error class suffix errdefs adds ("...: not found").
func Message(err error) string {
	msg := err.Error()
	for _, suffix := range []string{": not found", ": invalid argument", ": conflict", ": already exists", ": not modified", ": unavailable", ": unknown", ": failed precondition", ": not implemented", ": unauthorized", ": permission denied"} {
		if strings.HasSuffix(msg, suffix) {
			// Only the class errdefs appended, once: the rest is the reason.
			return strings.TrimSuffix(msg, suffix)
		}
	}
	return msg
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// versionLess compares dotted API versions.
func versionLess(a, b string) bool {
	var am, an, bm, bn int
	fmt.Sscanf(a, "%d.%d", &am, &an)
	fmt.Sscanf(b, "%d.%d", &bm, &bn)
	return am < bm || (am == bm && an < bn)
}

// Serve serves on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits (bounded by ctx) for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
