package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// benchNet is the benchmark daemon's default bridge: a name and a
// 10.x.y.0/24 nothing on the machine uses, and what existed before, so
// that cleanup removes only what the benchmark's daemon made.
type benchNet struct {
	bridge       string
	subnet       netip.Prefix
	chainsBefore map[string]bool // "table/chain"
}

func newBenchNet(root string) (*benchNet, error) {
	name := "pb" + strings.TrimPrefix(filepath.Base(root), "pbench")
	if len(name) > 15 {
		name = name[:15]
	}
	if _, err := net.InterfaceByName(name); err == nil {
		return nil, fmt.Errorf("bridge %s exists already", name)
	}
	used, err := usedPrefixes()
	if err != nil {
		return nil, err
	}
	n := &benchNet{bridge: name, chainsBefore: map[string]bool{}}
	for range 1000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(96 + rand.IntN(128)), byte(rand.IntN(256)), 0}), 24)
		if !slices.ContainsFunc(used, p.Overlaps) {
			n.subnet = p
			break
		}
	}
	if !n.subnet.IsValid() {
		return nil, errors.New("no free 10.x.y.0/24 for the benchmark's bridge")
	}
	for _, t := range iptablesTables() {
		for _, c := range t.chains {
			n.chainsBefore[t.name+"/"+c] = true
		}
	}
	return n, nil
}

// bip is the --bip value: the first address with the prefix.
func (n *benchNet) bip() string {
	return netip.PrefixFrom(n.subnet.Addr().Next(), n.subnet.Bits()).String()
}

// usedPrefixes lists the destinations of every IPv4 route and the
// networks of every IPv4 interface address.
func usedPrefixes() ([]netip.Prefix, error) {
	out, err := exec.Command("ip", "-j", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return nil, fmt.Errorf("ip route: %w", err)
	}
	var routes []struct {
		Dst string `json:"dst"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		return nil, fmt.Errorf("ip route: %w", err)
	}
	var used []netip.Prefix
	for _, r := range routes {
		if p, err := netip.ParsePrefix(r.Dst); err == nil && p.Bits() > 0 {
			used = append(used, p.Masked())
		} else if a, err := netip.ParseAddr(r.Dst); err == nil {
			used = append(used, netip.PrefixFrom(a, 32))
		}
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			used = append(used, p.Masked())
		}
	}
	return used, nil
}

type iptTable struct {
	name   string
	chains []string
	rules  []string // "-A CHAIN ..." lines
}

func iptablesTables() []iptTable {
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		return nil
	}
	var tables []iptTable
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			tables = append(tables, iptTable{name: line[1:]})
		case len(tables) == 0:
		case strings.HasPrefix(line, ":"):
			if f := strings.Fields(line[1:]); len(f) > 0 {
				tables[len(tables)-1].chains = append(tables[len(tables)-1].chains, f[0])
			}
		case strings.HasPrefix(line, "-A "):
			tables[len(tables)-1].rules = append(tables[len(tables)-1].rules, line)
		}
	}
	return tables
}

// cleanup removes, once the daemon is gone, its bridge, the iptables rules
// naming the bridge or an address of its subnet, and the chains created
// since the start that are left empty (with the jumps to them).
func (n *benchNet) cleanup() {
	_ = exec.Command("ip", "link", "del", n.bridge).Run()
	for _, t := range iptablesTables() {
		var cmds []string
		left := map[string]int{}
		for _, r := range t.rules {
			left[strings.Fields(r)[1]]++
		}
		var keep []string
		for _, r := range t.rules {
			if n.mentions(r) {
				cmds = append(cmds, "-D"+strings.TrimPrefix(r, "-A"))
				left[strings.Fields(r)[1]]--
			} else {
				keep = append(keep, r)
			}
		}
		for _, c := range t.chains {
			if n.chainsBefore[t.name+"/"+c] || left[c] > 0 {
				continue
			}
			for _, r := range keep {
				if f := strings.Fields(r); f[len(f)-1] == c && f[len(f)-2] == "-j" {
					cmds = append(cmds, "-D"+strings.TrimPrefix(r, "-A"))
				}
			}
			cmds = append(cmds, "-X "+c)
		}
		for _, c := range cmds {
			cmd := exec.Command("iptables-restore", "--noflush", "-w", "5")
			cmd.Stdin = strings.NewReader("*" + t.name + "\n" + c + "\nCOMMIT\n")
			_ = cmd.Run()
		}
	}
}

// mentions tells whether a rule names the bridge or an address or prefix
// inside the subnet.
func (n *benchNet) mentions(rule string) bool {
	for _, tok := range strings.FieldsFunc(rule, func(r rune) bool { return r == ' ' || r == '"' || r == ',' }) {
		if strings.TrimSuffix(tok, "+") == n.bridge {
			return true
		}
		if h, _, err := net.SplitHostPort(tok); err == nil {
			tok = h
		}
		if p, err := netip.ParsePrefix(tok); err == nil && p.Bits() >= n.subnet.Bits() && n.subnet.Contains(p.Addr()) {
			return true
		}
		if a, err := netip.ParseAddr(tok); err == nil && n.subnet.Contains(a) {
			return true
		}
	}
	return false
}
