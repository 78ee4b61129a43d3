package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/containerd/log"
	"golang.org/x/net/dns/dnsmessage"
)

// errMismatch is an upstream answer that does not answer the query sent.
var errMismatch = errors.New("answer does not match the query")

// forward asks the upstreams in order and returns the first usable answer
// with req's ID, or SERVFAIL when there is none. It runs in pouchd's own
// network namespace.
func (s *Server) forward(ctx context.Context, req *request, overTCP bool) []byte {
	for _, up := range s.r.Upstreams() {
		if !up.Addr().IsValid() {
			continue
		}
		if up.Port() == 0 {
			up = netip.AddrPortFrom(up.Addr(), 53)
		}
		resp, err := exchangeWithFallback(ctx, up, req, overTCP)
		if err != nil {
			if ctx.Err() != nil {
				return nil // closing
			}
			log.L.WithError(err).Debugf("dns: forward %s to %s", req.question.Name, up)
			continue
		}
		var p dnsmessage.Parser
		h, _ := p.Start(resp) // checked by exchange
		if h.RCode == servfail || h.RCode == refused {
			log.L.Debugf("dns: upstream %s answered %s for %s", up, h.RCode, req.question.Name)
			continue
		}
		binary.BigEndian.PutUint16(resp, req.hdr.ID)
		return resp
	}
	return req.reply(servfail)
}

// exchangeWithFallback sends req to up over UDP, retrying over TCP when the
// answer is truncated; over TCP only when overTCP.
func exchangeWithFallback(ctx context.Context, up netip.AddrPort, req *request, overTCP bool) ([]byte, error) {
	if overTCP {
		return exchange(ctx, "tcp", up, req)
	}
	resp, err := exchange(ctx, "udp", up, req)
	if err != nil {
		return nil, err
	}
	if resp[2]&0x02 == 0 { // TC bit
		return resp, nil
	}
	full, err := exchange(ctx, "tcp", up, req)
	if err != nil {
		log.L.WithError(err).Debugf("dns: retry %s over TCP to %s; relaying the truncated answer", req.question.Name, up)
		return resp, nil
	}
	return full, nil
}

// exchange sends req's query, with a fresh random ID, to up over network
// ("udp" or "tcp") and returns the answer, whose header and question are
// checked against the query. It gives up after upstreamTimeout or when ctx
// is cancelled.
func exchange(ctx context.Context, network string, up netip.AddrPort, req *request) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	var d net.Dialer
	c, err := d.DialContext(ctx, network, up.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	// Cancellation (Close) unblocks reads and writes at once.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	query := make([]byte, len(req.raw))
	copy(query, req.raw)
	id := uint16(rand.Uint32())
	binary.BigEndian.PutUint16(query, id)

	if network == "tcp" {
		if err := writeTCPMsg(c, query); err != nil {
			return nil, fmt.Errorf("send over TCP: %w", err)
		}
		resp, err := readTCPMsg(c)
		if err != nil {
			return nil, fmt.Errorf("read over TCP: %w", err)
		}
		if err := checkAnswer(resp, id, req); err != nil {
			return nil, err
		}
		return resp, nil
	}

	if _, err := c.Write(query); err != nil {
		return nil, fmt.Errorf("send over UDP: %w", err)
	}
	buf := make([]byte, maxMsgSize)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("read over UDP: %w", err)
		}
		// The socket is connected, so only up can answer; still, ignore
		// stray or forged datagrams until the deadline.
		if checkAnswer(buf[:n], id, req) == nil {
			return append([]byte(nil), buf[:n]...), nil
		}
	}
}

// checkAnswer checks that resp is an answer with the given ID to req's
// question (if resp has a question at all: some servers leave it out of
// error answers).
func checkAnswer(resp []byte, id uint16, req *request) error {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		return fmt.Errorf("parse answer: %w", err)
	}
	if !h.Response || h.ID != id {
		return errMismatch
	}
	q, err := p.Question()
	if err == dnsmessage.ErrSectionDone {
		return nil
	}
	if err != nil {
		return fmt.Errorf("parse answer: %w", err)
	}
	want := req.question
	if q.Type != want.Type || q.Class != want.Class || !strings.EqualFold(q.Name.String(), want.Name.String()) {
		return errMismatch
	}
	return nil
}
