package bridge

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
)

// Pouch's own chains. Per-network rules live here, written once when a
// network is set up, instead of per container: the CNI bridge plugin's
// ipMasq and the firewall plugin each run several iptables commands on
// every container start and stop, which more than doubled the time to
// plumb a container on a 2-core machine (see docs/pitfalls.md).
const (
	chainForward    = "POUCH-FORWARD"     // filter: what enters and leaves the bridges
	chainIsolation1 = "POUCH-ISOLATION-1" // filter: traffic leaving a bridge for another...
	chainIsolation2 = "POUCH-ISOLATION-2" // ...is dropped when it enters another Pouch bridge
	chainNAT        = "POUCH-POSTROUTING" // nat: masquerade of outbound traffic
)

// Rules describe the firewall of one bridge network.
type Rules struct {
	Bridge   string
	Subnet   netip.Prefix
	Internal bool // no traffic in or out of the bridge
}

func (r Rules) filter() [][]string {
	b := r.Bridge
	if r.Internal {
		return [][]string{
			{chainForward, "-i", b, "-o", b, "-j", "ACCEPT"},
			{chainForward, "-i", b, "!", "-o", b, "-j", "DROP"},
			{chainForward, "!", "-i", b, "-o", b, "-j", "DROP"},
		}
	}
	return [][]string{
		{chainIsolation1, "-i", b, "!", "-o", b, "-j", chainIsolation2},
		{chainIsolation2, "-o", b, "-j", "DROP"},
		{chainForward, "-i", b, "-j", "ACCEPT"},
		{chainForward, "-o", b, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "ACCEPT"},
	}
}

func (r Rules) nat() [][]string {
	if r.Internal {
		return nil
	}
	return [][]string{{chainNAT, "-s", r.Subnet.Masked().String(), "!", "-o", r.Bridge, "-j", "MASQUERADE"}}
}

var chainsOnce sync.Mutex

// ensureChains creates Pouch's chains and the jumps to them (idempotent).
func ensureChains() error {
	chainsOnce.Lock()
	defer chainsOnce.Unlock()
	for _, c := range []struct{ table, chain, from string }{
		{"filter", chainForward, "FORWARD"},
		{"filter", chainIsolation2, ""},
		{"filter", chainIsolation1, "FORWARD"},
		{"nat", chainNAT, "POSTROUTING"},
	} {
		if !iptablesOK("-t", c.table, "-L", c.chain, "-n") {
			if err := iptables("-t", c.table, "-N", c.chain); err != nil && !iptablesOK("-t", c.table, "-L", c.chain, "-n") {
				return err
			}
		}
		if c.from != "" && !iptablesOK("-t", c.table, "-C", c.from, "-j", c.chain) {
			// Isolation is inserted last so that it comes first.
			if err := iptables("-t", c.table, "-I", c.from, "-j", c.chain); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetupRules writes the rules of a network (idempotent).
func SetupRules(r Rules) error {
	if err := ensureChains(); err != nil {
		return err
	}
	for _, t := range []struct {
		table string
		rules [][]string
	}{{"filter", r.filter()}, {"nat", r.nat()}} {
		for _, rule := range t.rules {
			if iptablesOK(append([]string{"-t", t.table, "-C"}, rule...)...) {
				continue
			}
			if err := iptables(append([]string{"-t", t.table, "-A"}, rule...)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemoveRules deletes the rules of a network. Missing rules are fine.
func RemoveRules(r Rules) {
	for _, internal := range []bool{false, true} { // whichever it was
		r.Internal = internal
		for _, rule := range r.filter() {
			for iptablesOK(append([]string{"-t", "filter", "-D"}, rule...)...) {
			}
		}
		for _, rule := range r.nat() {
			for iptablesOK(append([]string{"-t", "nat", "-D"}, rule...)...) {
			}
		}
	}
}

func iptables(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("iptables", append([]string{"-w"}, args...)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func iptablesOK(args ...string) bool {
	return exec.Command("iptables", append([]string{"-w"}, args...)...).Run() == nil
}
