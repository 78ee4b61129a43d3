package image

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/platforms"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/jsonstream"
	registrytypes "github.com/moby/moby/api/types/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/pouchcontainer/pouch/daemon/server"
	"github.com/pouchcontainer/pouch/pkg/registry"
	svc "github.com/pouchcontainer/pouch/services/image"
)

// create pulls an image: POST /images/create?fromImage=&tag=&platform=.
// Errors found before the first progress message (bad reference, unknown
// image, refused credentials, unreachable registry) are plain HTTP errors;
// later ones end the JSON stream with an error message.
func (r *Router) create(ctx context.Context, w http.ResponseWriter, req *http.Request, _ map[string]string) error {
	q := req.URL.Query()
	if q.Get("fromSrc") != "" {
		return r.importImage(ctx, w, req)
	}
	from := q.Get("fromImage")
	if from == "" {
		return fmt.Errorf("fromImage is required: %w", errdefs.ErrInvalidArgument)
	}
	var platform *ocispec.Platform
	if p := q.Get("platform"); p != "" {
		parsed, err := platforms.Parse(p)
		if err != nil {
			return fmt.Errorf("invalid platform %q: %v: %w", p, err, errdefs.ErrInvalidArgument)
		}
		platform = &parsed
	}
	stream := newProgressStream(w)
	err := r.b.Pull(ctx, svc.PullOptions{Ref: from, Tag: q.Get("tag"), Platform: platform, Auth: authFrom(ctx, req)}, stream)
	return stream.finish(ctx, err)
}

// push pushes an image: POST /images/{name}/push?tag=.
func (r *Router) push(ctx context.Context, w http.ResponseWriter, req *http.Request, v map[string]string) error {
	stream := newProgressStream(w)
	err := r.b.Push(ctx, svc.PushOptions{Name: v["name"], Tag: req.URL.Query().Get("tag"), Auth: authFrom(ctx, req)}, stream)
	return stream.finish(ctx, err)
}

// authFrom reads the X-Registry-Auth header. As Docker does, a header that
// cannot be decoded counts as no credentials.
func authFrom(ctx context.Context, req *http.Request) registry.Credentials {
	a, err := registry.DecodeAuthHeader(req.Header.Get(registrytypes.AuthHeader))
	if err != nil {
		log.G(ctx).WithError(err).Debug("ignoring registry credentials")
		return registry.Credentials{}
	}
	return registry.FromAuthConfig(a)
}

// streamMessage is one line of Docker's JSON progress stream. The
// "progress" and "error" strings are what older clients print.
type streamMessage struct {
	Status          string               `json:"status,omitempty"`
	Progress        *jsonstream.Progress `json:"progressDetail,omitempty"`
	ProgressMessage string               `json:"progress,omitempty"`
	ID              string               `json:"id,omitempty"`
	Error           *jsonstream.Error    `json:"errorDetail,omitempty"`
	ErrorMessage    string               `json:"error,omitempty"`
	Aux             *json.RawMessage     `json:"aux,omitempty"`
}

// progressStream writes progress messages as Docker's JSON stream; the
// status line goes out with the first message.
type progressStream struct {
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
}

func newProgressStream(w http.ResponseWriter) *progressStream {
	return &progressStream{w: w, enc: json.NewEncoder(w)}
}

// WriteProgress writes one message and flushes it to the client.
func (s *progressStream) WriteProgress(p svc.Progress) error {
	return s.write(messageFor(p))
}

func (s *progressStream) write(m streamMessage) error {
	if !s.started {
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if err := s.enc.Encode(m); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// finish ends the stream: an error before any message is the handler's
// (a plain HTTP error); after, it is the stream's last message.
func (s *progressStream) finish(ctx context.Context, err error) error {
	if err == nil {
		if !s.started {
			s.w.Header().Set("Content-Type", "application/json")
			s.w.WriteHeader(http.StatusOK)
		}
		return nil
	}
	if !s.started {
		return err
	}
	log.G(ctx).WithError(err).Info("image transfer failed")
	msg := server.Message(err)
	_ = s.write(streamMessage{Error: &jsonstream.Error{Message: msg}, ErrorMessage: msg})
	return nil
}

// messageFor turns a service progress message into the wire message.
func messageFor(p svc.Progress) streamMessage {
	m := streamMessage{Status: p.Status, ID: p.ID}
	if p.Layer || p.Aux != nil {
		m.Progress = &jsonstream.Progress{Current: p.Current, Total: p.Total}
		if p.Current > 0 || p.Total > 0 {
			m.ProgressMessage = progressBar(p.Current, p.Total)
		}
	}
	if p.Aux != nil {
		b, _ := json.Marshal(struct {
			Tag    string
			Digest string
			Size   int
		}{p.Aux.Tag, p.Aux.Digest, p.Aux.Size})
		raw := json.RawMessage(b)
		m.Aux = &raw
	}
	return m
}

// progressBar renders Docker's progress string: a 50-column bar and the
// byte counts.
func progressBar(current, total int64) string {
	if total <= 0 {
		return fmt.Sprintf("%8v", units.HumanSize(float64(current)))
	}
	if current > total {
		current = total
	}
	filled := int(float64(current) / float64(total) * 50)
	bar := strings.Repeat("=", filled) + ">" + strings.Repeat(" ", 50-filled)
	return fmt.Sprintf("[%s] %8v/%v", bar, units.HumanSize(float64(current)), units.HumanSize(float64(total)))
}
