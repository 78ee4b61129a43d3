// Package httputil holds the small request and response helpers routers share.
package httputil

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/pouchcontainer/pouch/pkg/jsonlog"
)

// DecodeJSON decodes a JSON request body; malformed JSON is a bad request.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && mt != "application/json" && mt != "text/plain" {
			return fmt.Errorf("unsupported Content-Type header (%s): must be 'application/json': %w", ct, errdefs.ErrInvalidArgument)
		}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<20))
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return fmt.Errorf("invalid JSON: got EOF while reading request body: %w", errdefs.ErrInvalidArgument)
		}
		return fmt.Errorf("invalid JSON: %v: %w", err, errdefs.ErrInvalidArgument)
	}
	return nil
}

// BoolValue reads a boolean query parameter the way Docker does: "", "0",
// "no", "false", "none" are false; "1", "true", "yes" are true.
func BoolValue(r *http.Request, key string) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(r.URL.Query().Get(key)))
	switch v {
	case "", "0", "no", "false", "none":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, fmt.Errorf("invalid boolean value %q for %s: %w", v, key, errdefs.ErrInvalidArgument)
}

// UnixTime parses Docker's since/until values: seconds[.nanoseconds].
func UnixTime(v string) (time.Time, error) {
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid timestamp %q: %w", v, errdefs.ErrInvalidArgument)
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("invalid timestamp %q: %w", v, errdefs.ErrInvalidArgument)
		}
	}
	return time.Unix(s, ns), nil
}

// Until reads an "until" filter as Docker does: a Unix timestamp
// (with optional fraction), an RFC 3339 time or date, or a duration
// before now ("24h").
func Until(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	sec, frac, _ := strings.Cut(v, ".")
	if n, err := strconv.ParseInt(sec, 10, 64); err == nil && sec != "" {
		ns := int64(0)
		if frac != "" {
			f, err := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("invalid filter 'until=%s': %w", v, errdefs.ErrInvalidArgument)
			}
			ns = f
		}
		return time.Unix(n, ns), nil
	}
	return time.Time{}, fmt.Errorf("invalid filter 'until=%s': %w", v, errdefs.ErrInvalidArgument)
}

// StreamWriter writes log entries to a client: multiplexed frames
// (stdcopy: 8-byte header with the stream and length) without a TTY, raw
// bytes with one.
type StreamWriter struct {
	mu          sync.Mutex
	w           io.Writer
	multiplexed bool
	buf         []byte
}

// NewStreamWriter returns a writer over w.
func NewStreamWriter(w io.Writer, multiplexed bool) *StreamWriter {
	return &StreamWriter{w: w, multiplexed: multiplexed}
}

// Write writes one entry, optionally prefixed with its timestamp, and
// flushes it to the client.
func (s *StreamWriter) Write(e jsonlog.Entry, timestamps bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	payload := e.Log
	if timestamps {
		payload = e.Time.UTC().Format(time.RFC3339Nano) + " " + payload
	}
	s.buf = s.buf[:0]
	if s.multiplexed {
		var hdr [8]byte
		hdr[0] = 1
		if e.Stream == "stderr" {
			hdr[0] = 2
		}
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
		s.buf = append(s.buf, hdr[:]...)
	}
	s.buf = append(s.buf, payload...)
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// Stream returns a writer whose writes go out as entries of the named
// stream ("stdout" or "stderr").
func (s *StreamWriter) Stream(name string) io.Writer { return streamOf{s, name} }

type streamOf struct {
	s    *StreamWriter
	name string
}

func (w streamOf) Write(p []byte) (int, error) {
	if err := w.s.Write(jsonlog.Entry{Stream: w.name, Log: string(p)}, false); err != nil {
		return 0, err
	}
	return len(p), nil
}
