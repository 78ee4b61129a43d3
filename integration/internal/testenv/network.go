package testenv

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Networking of test daemons. Every daemon gets a default bridge of its own
// (a short unique name and a free 10.x.y.0/24), so test daemons, one after
// another or side by side, never meet each other or a real pouchd on the
// machine; Cleanup removes the bridges, veths, network namespaces and
// iptables rules the daemon left.

var (
	subnetMu   sync.Mutex
	subnetsOut []netip.Prefix // handed out by FreeSubnet in this process
	bridgesOut []string       // default bridge names handed out in this process
)

// FreeSubnet returns a 10.x.y.0/24 that no route, interface address or
// earlier FreeSubnet answer of this process overlaps. Tests creating user
// networks take their subnets from here, which also tells Cleanup which
// bridges and rules are the test's own.
func FreeSubnet() (netip.Prefix, error) {
	subnetMu.Lock()
	defer subnetMu.Unlock()
	used, err := usedPrefixes()
	if err != nil {
		return netip.Prefix{}, err
	}
	used = append(used, subnetsOut...)
	for range 1000 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(96 + rand.IntN(128)), byte(rand.IntN(256)), 0}), 24)
		if !slices.ContainsFunc(used, p.Overlaps) {
			subnetsOut = append(subnetsOut, p)
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("no free 10.x.y.0/24")
}

// usedPrefixes lists the destinations of every IPv4 route (all tables)
// and the networks of every IPv4 interface address.
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
		if p, ok := parsePrefixOrAddr(r.Dst); ok && p.Bits() > 0 {
			used = append(used, p)
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			used = append(used, p.Masked())
		}
	}
	return used, nil
}

func parsePrefixOrAddr(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// pickBridge chooses the daemon's default bridge: a name unused on the
// machine (at most 15 characters) and a free subnet with its gateway.
func (d *Daemon) pickBridge() error {
	base := "pt" + strings.TrimPrefix(filepath.Base(d.Root), "pit")
	if len(base) > 13 {
		base = base[:13]
	}
	name := base
	for i := 0; linkExists(name) || slices.Contains(bridgesOut, name); i++ {
		name = fmt.Sprintf("%s%c", base, 'a'+i%26)
		if i > 26 {
			return errors.New("no free bridge name")
		}
	}
	subnet, err := FreeSubnet()
	if err != nil {
		return err
	}
	subnetMu.Lock()
	bridgesOut = append(bridgesOut, name)
	subnetMu.Unlock()
	d.BridgeName = name
	d.BridgeIP = netip.PrefixFrom(subnet.Addr().Next(), subnet.Bits()).String()
	registerRoot(d.Root)
	return nil
}

// BridgeSubnet is the subnet of the daemon's default bridge (zero when
// the daemon runs with pouchd's own defaults).
func (d *Daemon) BridgeSubnet() netip.Prefix {
	p, err := netip.ParsePrefix(d.BridgeIP)
	if err != nil {
		return netip.Prefix{}
	}
	return p.Masked()
}

// BridgeGateway is the gateway address of the daemon's default bridge.
func (d *Daemon) BridgeGateway() netip.Addr {
	p, err := netip.ParsePrefix(d.BridgeIP)
	if err != nil {
		return netip.Addr{}
	}
	return p.Addr()
}

// Own tells Cleanup that links with these names, and rules or bridge
// addresses inside these subnets, belong to this daemon, e.g. for a daemon
// started with pouchd's default bridge p0 and 192.168.5.0/24.
func (d *Daemon) Own(bridges []string, subnets []netip.Prefix) {
	d.ownBridges = append(d.ownBridges, bridges...)
	d.ownSubnets = append(d.ownSubnets, subnets...)
	processMu.Lock()
	processOwnBrs = append(processOwnBrs, bridges...)
	processOwnNets = append(processOwnNets, subnets...)
	processMu.Unlock()
}

var (
	flagSupportMu sync.Mutex
	flagSupport   = map[string]string{}
)

// supportsFlag tells whether pouchd's --help lists the flag (the bridge
// flags are passed only to a pouchd that has them).
func (d *Daemon) supportsFlag(flag string) bool {
	flagSupportMu.Lock()
	defer flagSupportMu.Unlock()
	bin := filepath.Join(d.BinDir, "pouchd")
	help, ok := flagSupport[bin]
	if !ok {
		out, _ := exec.Command(bin, "--help").CombinedOutput()
		help = string(out)
		flagSupport[bin] = help
	}
	return regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(flag) + `[\s=]`).MatchString(help)
}

// bridgeArgs are the flags giving pouchd the daemon's own default bridge.
func (d *Daemon) bridgeArgs() []string {
	if d.BridgeName == "" || slices.Contains(d.ExtraArgs, "--bridge-name") || !d.supportsFlag("--bridge-name") {
		return nil
	}
	args := []string{"--bridge-name", d.BridgeName}
	if d.BridgeIP != "" && !slices.Contains(d.ExtraArgs, "--bip") {
		args = append(args, "--bip", d.BridgeIP)
	}
	return args
}

// link is one network interface of the host.
type link struct {
	Name   string `json:"ifname"`
	Master string `json:"master"`
	Info   struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
	Addrs []struct {
		Family string `json:"family"`
		Local  string `json:"local"`
		Prefix int    `json:"prefixlen"`
	} `json:"addr_info"`
}

func linkExists(name string) bool {
	_, err := os.Lstat("/sys/class/net/" + name)
	return err == nil
}

// links lists the host's links with kind, master and addresses.
func links() ([]link, error) {
	out, err := exec.Command("ip", "-j", "-d", "addr", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip addr: %w", err)
	}
	var ls []link
	if err := json.Unmarshal(out, &ls); err != nil {
		return nil, fmt.Errorf("ip addr: %w", err)
	}
	return ls, nil
}

// netBaseline is what existed before the daemon started.
type netBaseline struct {
	links  map[string]bool
	chains map[string]bool // "table/chain"
}

func takeNetBaseline() netBaseline {
	b := netBaseline{links: map[string]bool{}, chains: map[string]bool{}}
	ls, _ := links()
	for _, l := range ls {
		b.links[l.Name] = true
	}
	for _, t := range parseIptables(iptablesSave()) {
		for _, c := range t.chains {
			b.chains[t.name+"/"+c] = true
		}
	}
	return b
}

// netOwned is what Cleanup attributes to the daemon.
type netOwned struct {
	bridges    []string
	subnets    []netip.Prefix
	containers []string // IDs, as CNI's rule comments and netns paths name them
}

// NetworkSummary is the part of a network list entry Cleanup reads.
type networkSummary struct {
	ID      string `json:"Id"`
	Name    string
	Options map[string]string
	IPAM    struct {
		Config []struct{ Subnet string }
	}
}

// removeNetworks lists the daemon's networks, records their subnets and
// bridge names, and removes every network but the predefined ones.
func (d *Daemon) removeNetworks(own *netOwned) {
	resp, err := d.Client().Get("http://pouch/networks")
	if err != nil {
		return
	}
	var list []networkSummary
	if resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(resp.Body).Decode(&list)
	}
	resp.Body.Close()
	for _, n := range list {
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				own.subnets = append(own.subnets, p.Masked())
			}
		}
		if b := n.Options["com.docker.network.bridge.name"]; b != "" {
			own.bridges = append(own.bridges, b)
		}
		switch n.Name {
		case "bridge", "host", "none":
			continue
		}
		req, _ := http.NewRequest("DELETE", "http://pouch/networks/"+n.ID, nil)
		if r, err := d.Client().Do(req); err == nil {
			r.Body.Close()
		}
	}
}

// containerIDs lists the IDs of every container record on disk.
func (d *Daemon) containerIDs() []string {
	entries, _ := os.ReadDir(filepath.Join(d.Home, "containers"))
	var ids []string
	for _, e := range entries {
		if len(e.Name()) == 64 {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// cleanupNetwork removes, once pouchd is gone, the network namespaces,
// veths, bridges and iptables rules the daemon left behind.
func (d *Daemon) cleanupNetwork(own netOwned) {
	if d.BridgeName != "" {
		own.bridges = append(own.bridges, d.BridgeName)
	}
	if p := d.BridgeSubnet(); p.IsValid() {
		own.subnets = append(own.subnets, p)
	}
	own.bridges = append(own.bridges, d.ownBridges...)
	own.subnets = append(own.subnets, d.ownSubnets...)

	unmountNetns(own.containers)

	ls, _ := links()
	isOwnBridge := map[string]bool{}
	for _, l := range ls {
		if l.Info.Kind != "bridge" {
			continue
		}
		mine := slices.Contains(own.bridges, l.Name) && !d.netBefore.links[l.Name]
		for _, a := range l.Addrs {
			if ip, err := netip.ParseAddr(a.Local); err == nil && !d.netBefore.links[l.Name] && containsAddr(own.subnets, ip) {
				mine = true
			}
		}
		if mine {
			isOwnBridge[l.Name] = true
		}
	}
	for _, l := range ls {
		if l.Info.Kind == "veth" && isOwnBridge[l.Master] && !d.netBefore.links[l.Name] {
			_ = exec.Command("ip", "link", "del", l.Name).Run()
		}
	}
	var bridges []string
	for name := range isOwnBridge {
		_ = exec.Command("ip", "link", "del", name).Run()
		bridges = append(bridges, name)
	}
	bridges = append(bridges, own.bridges...)
	// Empty chains may be another running test daemon's: leave them to
	// the last one.
	cleanIptables(d.netBefore.chains, bridges, own.subnets, own.containers, !otherDaemonRunning(d))
}

var (
	runningMu sync.Mutex
	running   = map[*Daemon]bool{}
)

func setRunning(d *Daemon, on bool) {
	runningMu.Lock()
	defer runningMu.Unlock()
	if on {
		running[d] = true
	} else {
		delete(running, d)
	}
}

func otherDaemonRunning(d *Daemon) bool {
	runningMu.Lock()
	defer runningMu.Unlock()
	for o := range running {
		if o != d {
			return true
		}
	}
	return false
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// unmountNetns unmounts and removes network namespace files (nsfs mounts)
// whose path names one of the containers.
func unmountNetns(ids []string) {
	if len(ids) == 0 {
		return
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		i := slices.Index(f, "-")
		if i < 0 || i+1 >= len(f) || f[i+1] != "nsfs" {
			continue
		}
		for _, id := range ids {
			if strings.Contains(f[4], id) || strings.Contains(f[4], id[:12]) {
				_ = unix.Unmount(f[4], unix.MNT_DETACH)
				_ = os.Remove(f[4])
				break
			}
		}
	}
}

// iptablesSave returns `iptables-save` output ("" when iptables is missing).
func iptablesSave() string {
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// IptablesRules is `iptables-save` without comments and counters, for
// before/after comparisons.
func IptablesRules() string {
	var b strings.Builder
	for _, line := range strings.Split(iptablesSave(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b.WriteString(counters.ReplaceAllString(line, "") + "\n")
	}
	return b.String()
}

type iptTable struct {
	name   string
	chains []string
	rules  []iptRule
}

type iptRule struct {
	chain, line string // line is the "-A CHAIN ..." text
	target      string // -j or -g argument
}

func parseIptables(save string) []iptTable {
	var tables []iptTable
	var cur *iptTable
	sc := bufio.NewScanner(strings.NewReader(save))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "*"):
			tables = append(tables, iptTable{name: line[1:]})
			cur = &tables[len(tables)-1]
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			if f := strings.Fields(line[1:]); len(f) > 0 {
				cur.chains = append(cur.chains, f[0])
			}
		case strings.HasPrefix(line, "-A "):
			f := strings.Fields(line)
			r := iptRule{chain: f[1], line: line}
			for i := 2; i+1 < len(f); i++ {
				if f[i] == "-j" || f[i] == "-g" {
					r.target = f[i+1]
				}
			}
			cur.rules = append(cur.rules, r)
		}
	}
	return tables
}

var builtinChains = map[string]bool{"INPUT": true, "OUTPUT": true, "FORWARD": true, "PREROUTING": true, "POSTROUTING": true}

// mentions reports whether a rule names one of the bridges, an address or
// prefix inside one of the subnets, or one of the container IDs.
func mentions(line string, bridges []string, subnets []netip.Prefix, ids []string) bool {
	for _, tok := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '"' || r == '\\' || r == ',' }) {
		if slices.Contains(bridges, strings.TrimSuffix(tok, "+")) {
			return true
		}
		// "10.1.2.3", "10.1.2.0/24", "10.1.2.3:80", "10.1.2.3-10.1.2.9"
		for _, part := range strings.Split(tok, "-") {
			if h, _, err := net.SplitHostPort(part); err == nil {
				part = h
			}
			if p, ok := parsePrefixOrAddr(part); ok && p.Bits() > 0 {
				for _, s := range subnets {
					if s.Bits() <= p.Bits() && s.Contains(p.Addr()) {
						return true
					}
				}
			}
		}
	}
	for _, id := range ids {
		if strings.Contains(line, id) {
			return true
		}
	}
	return false
}

// cleanIptables deletes the rules that mention the bridges, subnets or
// containers, then the chains created since the baseline whose rules all
// go (empty ones too when dropEmpty) or that are only reached from deleted
// rules, and the jumps to them.
func cleanIptables(before map[string]bool, bridges []string, subnets []netip.Prefix, ids []string, dropEmpty bool) {
	for _, t := range parseIptables(iptablesSave()) {
		remove := map[int]bool{}
		dropChain := map[string]bool{}
		for i, r := range t.rules {
			if mentions(r.line, bridges, subnets, ids) {
				remove[i] = true
			}
		}
		for changed := true; changed; {
			changed = false
			for _, c := range t.chains {
				if dropChain[c] || before[t.name+"/"+c] || builtinChains[c] {
					continue
				}
				allRulesGo, rules, refs, allRefsGo := true, 0, 0, true
				for i, r := range t.rules {
					if r.chain == c {
						rules++
						if !remove[i] {
							allRulesGo = false
						}
					}
					if r.target == c {
						refs++
						if !remove[i] {
							allRefsGo = false
						}
					}
				}
				if (allRulesGo && (rules > 0 || dropEmpty)) || (refs > 0 && allRefsGo) {
					dropChain[c] = true
					changed = true
				}
			}
			for i, r := range t.rules {
				if !remove[i] && (dropChain[r.target] || dropChain[r.chain]) {
					remove[i] = true
					changed = true
				}
			}
		}
		var cmds []string
		for i, r := range t.rules {
			if remove[i] && !dropChain[r.chain] {
				cmds = append(cmds, "-D"+strings.TrimPrefix(r.line, "-A"))
			}
		}
		for c := range dropChain {
			cmds = append(cmds, "-F "+c)
		}
		for c := range dropChain {
			cmds = append(cmds, "-X "+c)
		}
		if len(cmds) == 0 {
			continue
		}
		if iptablesRestore(t.name, cmds) != nil {
			// Something changed meanwhile: one command at a time.
			for _, c := range cmds {
				_ = iptablesRestore(t.name, []string{c})
			}
		}
	}
}

func iptablesRestore(table string, cmds []string) error {
	cmd := exec.Command("iptables-restore", "--noflush", "-w", "5")
	cmd.Stdin = strings.NewReader("*" + table + "\n" + strings.Join(cmds, "\n") + "\nCOMMIT\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables-restore: %v: %s", err, out)
	}
	return nil
}

// HostNetState is the host's network state that containers may change:
// bridges and veths, network namespace mounts and iptables rules. What
// belongs to pouchd instances outside this test process (another test run,
// a developer's pouchd) is left out, so that they may work meanwhile:
// bridges other than this process's (named by New, or with an address in
// a subnet FreeSubnet handed out or Own declared), the veths on them, the
// rules naming them or their subnets (and chains holding only such rules,
// and jumps to those), and network namespaces under other test daemons'
// directories.
type HostNetState struct {
	Links    []string // "kind name master"
	Netns    []string // nsfs mount points
	Iptables string   // rules as IptablesRules writes them
}

var (
	processMu      sync.Mutex
	processRoots   []string       // Root of every daemon of this process
	processOwnBrs  []string       // bridges declared with Own
	processOwnNets []netip.Prefix // subnets declared with Own
)

func registerRoot(root string) {
	processMu.Lock()
	processRoots = append(processRoots, root)
	processMu.Unlock()
}

// isOursBridge tells whether a bridge belongs to a daemon of this process.
func isOursBridge(l link) bool {
	subnetMu.Lock()
	names := slices.Clone(bridgesOut)
	subnets := slices.Clone(subnetsOut)
	subnetMu.Unlock()
	processMu.Lock()
	names = append(names, processOwnBrs...)
	subnets = append(subnets, processOwnNets...)
	processMu.Unlock()
	if slices.Contains(names, l.Name) {
		return true
	}
	for _, a := range l.Addrs {
		if ip, err := netip.ParseAddr(a.Local); err == nil && containsAddr(subnets, ip) {
			return true
		}
	}
	return false
}

// CaptureHostNetState reads the host's network state.
func CaptureHostNetState() HostNetState {
	var s HostNetState
	ls, _ := links()
	foreign := map[string]bool{}
	var foreignNets []netip.Prefix
	for _, l := range ls {
		if l.Info.Kind == "bridge" && !isOursBridge(l) {
			foreign[l.Name] = true
			for _, a := range l.Addrs {
				if p, err := netip.ParsePrefix(fmt.Sprintf("%s/%d", a.Local, a.Prefix)); err == nil && p.Addr().Is4() {
					foreignNets = append(foreignNets, p.Masked())
				}
			}
		}
	}
	for _, l := range ls {
		if (l.Info.Kind == "bridge" || l.Info.Kind == "veth") && !foreign[l.Name] && !foreign[l.Master] {
			s.Links = append(s.Links, strings.TrimSpace(l.Info.Kind+" "+l.Name+" "+l.Master))
		}
	}
	slices.Sort(s.Links)
	processMu.Lock()
	roots := slices.Clone(processRoots)
	processMu.Unlock()
	otherTestDaemon := regexp.MustCompile(`^/tmp/pit[0-9]+/`)
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if i := slices.Index(f, "-"); i > 0 && i+1 < len(f) && f[i+1] == "nsfs" && strings.Contains(f[3], "net:") {
				mine := slices.ContainsFunc(roots, func(r string) bool { return strings.HasPrefix(f[4], r+"/") })
				if mine || !otherTestDaemon.MatchString(f[4]) {
					s.Netns = append(s.Netns, f[4])
				}
			}
		}
	}
	slices.Sort(s.Netns)
	s.Iptables = iptablesWithout(iptablesSave(), slices.Collect(maps.Keys(foreign)), foreignNets)
	return s
}

// iptablesWithout is IptablesRules leaving out the rules that mention the
// bridges or subnets, the chains holding only such rules, the jumps to
// those chains, and the declarations of chains left empty.
func iptablesWithout(save string, bridges []string, subnets []netip.Prefix) string {
	drop := map[string]bool{} // "table -A line" and "table :chain"
	for _, t := range parseIptables(save) {
		gone := map[int]bool{}
		goneChain := map[string]bool{}
		for i, r := range t.rules {
			gone[i] = mentions(r.line, bridges, subnets, nil)
		}
		for changed := true; changed; {
			changed = false
			for _, c := range t.chains {
				if goneChain[c] || builtinChains[c] {
					continue
				}
				n, all := 0, true
				for i, r := range t.rules {
					if r.chain == c {
						n++
						all = all && gone[i]
					}
				}
				if n > 0 && all {
					goneChain[c] = true
					changed = true
				}
			}
			for i, r := range t.rules {
				if !gone[i] && goneChain[r.target] {
					gone[i] = true
					changed = true
				}
			}
		}
		kept := map[string]bool{}
		for i, r := range t.rules {
			if gone[i] {
				drop[t.name+" "+r.line] = true
			} else {
				kept[r.chain] = true
			}
		}
		// Chains with no rule left are not shown: whether another
		// daemon's rules or none fill a shared chain is not ours.
		for _, c := range t.chains {
			if !kept[c] && !builtinChains[c] {
				drop[t.name+" :"+c] = true
			}
		}
	}
	var b strings.Builder
	table := ""
	for _, line := range strings.Split(save, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "*") {
			table = line[1:]
		}
		if drop[table+" "+line] {
			continue
		}
		if strings.HasPrefix(line, ":") {
			if f := strings.Fields(line); drop[table+" "+f[0]] {
				continue
			}
		}
		b.WriteString(counters.ReplaceAllString(line, "") + "\n")
	}
	return b.String()
}

// Diff describes how s differs from before ("" when it does not).
func (s HostNetState) Diff(before HostNetState) string {
	var b strings.Builder
	diffLists(&b, "link", before.Links, s.Links)
	diffLists(&b, "netns mount", before.Netns, s.Netns)
	diffLists(&b, "iptables", strings.Split(before.Iptables, "\n"), strings.Split(s.Iptables, "\n"))
	return b.String()
}

func diffLists(b *strings.Builder, what string, before, after []string) {
	count := map[string]int{}
	for _, x := range before {
		count[x]++
	}
	for _, x := range after {
		count[x]--
	}
	for _, x := range after {
		if count[x] < 0 {
			fmt.Fprintf(b, "+ %s %s\n", what, x)
			count[x]++
		}
	}
	for _, x := range before {
		if count[x] > 0 {
			fmt.Fprintf(b, "- %s %s\n", what, x)
			count[x]--
		}
	}
}

// WaitHostNetState waits up to limit for the host's network state to
// equal before (teardown runs partly in the background) and returns the
// last difference ("" once equal).
func WaitHostNetState(before HostNetState, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		diff := CaptureHostNetState().Diff(before)
		if diff == "" || time.Now().After(deadline) {
			return diff
		}
		time.Sleep(100 * time.Millisecond)
	}
}
