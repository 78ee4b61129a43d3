package dns

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	refused  = dnsmessage.RCodeRefused
	servfail = dnsmessage.RCodeServerFailure
)

// request is a parsed client query.
type request struct {
	raw        []byte // the query as received (a copy)
	hdr        dnsmessage.Header
	question   dnsmessage.Question // the first question
	nquestions int
	edns       bool // the query has an OPT record
	udpSize    int  // the largest UDP answer the client takes
}

// parseRequest parses a client query; ok is false for packets to drop:
// unparseable header, question or additional section, responses, and
// queries without a question.
func parseRequest(b []byte) (req *request, ok bool) {
	var p dnsmessage.Parser
	hdr, err := p.Start(b)
	if err != nil || hdr.Response {
		return nil, false
	}
	req = &request{hdr: hdr, udpSize: 512}
	for {
		q, err := p.Question()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return nil, false
		}
		if req.nquestions == 0 {
			req.question = q
		}
		req.nquestions++
	}
	if req.nquestions == 0 {
		return nil, false
	}
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return nil, false
	}
	for {
		h, err := p.AdditionalHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return nil, false
		}
		if h.Type == dnsmessage.TypeOPT && !req.edns {
			req.edns = true
			// The class of an OPT record is the requester's UDP payload size.
			req.udpSize = min(max(int(h.Class), 512), maxMsgSize)
		}
		if p.SkipAdditional() != nil {
			return nil, false
		}
	}
	req.raw = slices.Clone(b)
	return req, true
}

// replyHeader is the header of a local answer to req.
func (req *request) replyHeader(rcode dnsmessage.RCode) dnsmessage.Header {
	return dnsmessage.Header{
		ID:                 req.hdr.ID,
		Response:           true,
		OpCode:             req.hdr.OpCode,
		RecursionDesired:   req.hdr.RecursionDesired,
		RecursionAvailable: true,
		CheckingDisabled:   req.hdr.CheckingDisabled,
		RCode:              rcode,
	}
}

// reply builds a local answer to req with rcode and the given records
// (answers, authorities), echoing req's first question.
func (req *request) reply(rcode dnsmessage.RCode, answers ...dnsmessage.Resource) []byte {
	return req.build(req.replyHeader(rcode), answers, nil, req.edns)
}

func (req *request) build(h dnsmessage.Header, answers, authorities []dnsmessage.Resource, opt bool) []byte {
	m := dnsmessage.Message{
		Header:      h,
		Questions:   []dnsmessage.Question{req.question},
		Answers:     answers,
		Authorities: authorities,
	}
	if opt {
		var oh dnsmessage.ResourceHeader
		if err := oh.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, false); err == nil {
			m.Additionals = []dnsmessage.Resource{{Header: oh, Body: &dnsmessage.OPTResource{}}}
		}
	}
	b, err := m.Pack()
	if err != nil {
		// Only a question that cannot be packed (parsed, so it can) would do this.
		m.Answers, m.Authorities, m.Additionals = nil, nil, nil
		m.Header.RCode = servfail
		if b, err = m.Pack(); err != nil {
			return nil
		}
	}
	return b
}

// local answers req from the Resolver. It returns nil when req must be
// forwarded upstream.
func (s *Server) local(req *request) []byte {
	if req.hdr.OpCode != 0 {
		return req.reply(dnsmessage.RCodeNotImplemented)
	}
	if req.nquestions != 1 {
		return req.reply(dnsmessage.RCodeFormatError)
	}
	q := req.question
	if q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	if name == "" {
		return nil
	}
	switch q.Type {
	case dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeMX, dnsmessage.TypeALL:
		addrs, ok := s.r.Lookup(name)
		if !ok {
			return nil
		}
		var answers []dnsmessage.Resource
		if q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL {
			for _, a := range addrs {
				if a = a.Unmap(); a.Is4() {
					answers = append(answers, dnsmessage.Resource{
						Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: answerTTL},
						Body:   &dnsmessage.AResource{A: a.As4()},
					})
				}
			}
			rand.Shuffle(len(answers), func(i, j int) { answers[i], answers[j] = answers[j], answers[i] })
		}
		return req.reply(dnsmessage.RCodeSuccess, answers...)
	case dnsmessage.TypePTR:
		ip, ok := parsePTRName(name)
		if !ok {
			return nil
		}
		names, ok := s.r.LookupAddr(ip)
		if !ok {
			return nil
		}
		var answers []dnsmessage.Resource
		for _, n := range names {
			if !strings.HasSuffix(n, ".") {
				n += "."
			}
			target, err := dnsmessage.NewName(n)
			if err != nil || n == "." {
				continue
			}
			answers = append(answers, dnsmessage.Resource{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET, TTL: answerTTL},
				Body:   &dnsmessage.PTRResource{PTR: target},
			})
		}
		return req.reply(dnsmessage.RCodeSuccess, answers...)
	}
	return nil
}

// parsePTRName parses a reverse-lookup name (lower-case, no trailing dot):
// "d.c.b.a.in-addr.arpa" or the 32 nibbles of an ip6.arpa name.
func parsePTRName(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var ip [4]byte
		for i, l := range labels {
			if l == "" || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(l, 10, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			ip[3-i] = byte(v)
		}
		return netip.AddrFrom4(ip), true
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		if len(rest) != 63 {
			return netip.Addr{}, false
		}
		var ip [16]byte
		for i := range 32 {
			c := rest[2*i]
			if i < 31 && rest[2*i+1] != '.' {
				return netip.Addr{}, false
			}
			v, err := strconv.ParseUint(string(c), 16, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			// Nibble i counts from the least significant end.
			pos := 31 - i
			if pos%2 == 0 {
				ip[pos/2] |= byte(v) << 4
			} else {
				ip[pos/2] |= byte(v)
			}
		}
		return netip.AddrFrom16(ip), true
	}
	return netip.Addr{}, false
}

// fit returns resp if it is at most limit bytes long. Otherwise it sets TC
// and drops records from the end (authorities first, then answers; of the
// additional section only an OPT record is kept) until it fits.
func fit(resp []byte, req *request, limit int) []byte {
	if resp == nil || len(resp) <= limit {
		return resp
	}
	var m dnsmessage.Message
	if err := m.Unpack(resp); err != nil {
		// Unparseable upstream answer: send the bare header with TC.
		var p dnsmessage.Parser
		h, err := p.Start(resp)
		if err != nil {
			h = req.replyHeader(servfail)
		}
		h.Truncated = true
		return req.build(h, nil, nil, false)
	}
	m.Header.Truncated = true
	var opt []dnsmessage.Resource
	for _, r := range m.Additionals {
		if r.Header.Type == dnsmessage.TypeOPT {
			opt = append(opt, r)
			break
		}
	}
	m.Additionals = opt
	for {
		b, err := m.Pack()
		if err == nil && len(b) <= limit {
			return b
		}
		switch {
		case len(m.Authorities) > 0:
			m.Authorities = m.Authorities[:len(m.Authorities)-1]
		case len(m.Answers) > 0:
			m.Answers = m.Answers[:len(m.Answers)-1]
		case len(m.Additionals) > 0:
			m.Additionals = nil
		default:
			return req.build(m.Header, nil, nil, false)
		}
	}
}

// readTCPMsg reads one length-prefixed DNS message.
func readTCPMsg(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// writeTCPMsg writes msg with its length prefix in one write.
func writeTCPMsg(w io.Writer, msg []byte) error {
	if len(msg) > maxMsgSize {
		return io.ErrShortWrite
	}
	b := make([]byte, 2, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}
