package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/pflag"

	"github.com/pouchcontainer/pouch/cli/image"
)

// containerOptions are the flags shared by `create` and `run`.
type containerOptions struct {
	name        string
	env         []string
	envFiles    []string
	workdir     string
	user        string
	entrypoint  string
	hostname    string
	labels      []string
	stdin       bool
	tty         bool
	autoRemove  bool
	restart     string
	readOnly    bool
	privileged  bool
	capAdd      []string
	capDrop     []string
	securityOp  []string
	memory      string
	memorySwap  string
	cpus        string
	cpuShares   int64
	cpusetCPUs  string
	pidsLimit   int64
	ulimits     []string
	sysctls     []string
	shmSize     string
	tmpfs       []string
	volumes     []string
	mounts      []string
	volumesFrom []string

	// Health checks.
	healthCmd           string
	healthInterval      time.Duration
	healthTimeout       time.Duration
	healthStartPeriod   time.Duration
	healthStartInterval time.Duration
	healthRetries       int
	noHealthcheck       bool

	// Networking: --network and the endpoint, port, DNS and hosts flags.
	networks     networkOpt
	aliases      []string
	netAliases   []string // hidden --net-alias
	ipv4         string
	ipv6         string
	linkLocalIPs []string
	macAddress   string
	domainname   string
	publish      []string
	publishAll   bool
	expose       []string
	dns          []string
	dnsSearch    []string
	dnsOptions   []string
	dnsOpts      []string // hidden --dns-opt
	extraHosts   []string

	// How the image is pulled: --pull, --platform and -q.
	pull     string
	platform string
	quiet    bool

	// Set from flags.Changed: an empty --entrypoint resets the image's,
	// and --pids-limit 0 differs from no limit given.
	entrypointSet bool
	pidsLimitSet  bool

	image string
	args  []string
}

func addContainerFlags(flags *pflag.FlagSet, o *containerOptions) {
	flags.SetInterspersed(false)
	// -h is --hostname, as in docker; help stays available as --help.
	flags.Bool("help", false, "Print usage")
	flags.StringVar(&o.name, "name", "", "Assign a name to the container")
	flags.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables")
	flags.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables")
	flags.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	flags.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	flags.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	flags.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	flags.StringArrayVarP(&o.labels, "label", "l", nil, "Set meta data on a container")
	flags.BoolVarP(&o.stdin, "interactive", "i", false, "Keep STDIN open even if not attached")
	flags.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	flags.BoolVar(&o.autoRemove, "rm", false, "Automatically remove the container when it exits")
	flags.StringVar(&o.restart, "restart", "", "Restart policy to apply when a container exits (no|always|on-failure[:max-retries]|unless-stopped)")
	flags.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume")
	flags.StringArrayVar(&o.mounts, "mount", nil, "Attach a filesystem mount to the container")
	flags.StringArrayVar(&o.volumesFrom, "volumes-from", nil, "Mount volumes from the specified container(s)")
	flags.StringVar(&o.healthCmd, "health-cmd", "", "Command to run to check health")
	flags.DurationVar(&o.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	flags.DurationVar(&o.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	flags.DurationVar(&o.healthStartPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	flags.DurationVar(&o.healthStartInterval, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 0s)")
	flags.IntVar(&o.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	flags.BoolVar(&o.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	flags.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	flags.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
	flags.StringArrayVar(&o.capAdd, "cap-add", nil, "Add Linux capabilities")
	flags.StringArrayVar(&o.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	flags.StringArrayVar(&o.securityOp, "security-opt", nil, "Security Options")
	flags.StringVarP(&o.memory, "memory", "m", "", "Memory limit")
	flags.StringVar(&o.memorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	flags.StringVar(&o.cpus, "cpus", "", "Number of CPUs")
	flags.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	flags.StringVar(&o.cpusetCPUs, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	flags.Int64Var(&o.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	flags.StringArrayVar(&o.ulimits, "ulimit", nil, "Ulimit options (name=soft[:hard])")
	flags.StringArrayVar(&o.sysctls, "sysctl", nil, "Sysctl options (key=value)")
	flags.StringVar(&o.shmSize, "shm-size", "", "Size of /dev/shm")
	flags.StringArrayVar(&o.tmpfs, "tmpfs", nil, "Mount a tmpfs directory (path[:options])")
	addNetworkFlags(flags, o)
	flags.StringVar(&o.pull, "pull", pullMissing, `Pull image before creating ("`+pullAlways+`", "`+pullMissing+`", "`+pullNever+`")`)
	flags.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable")
	flags.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress the pull output")
}

// addNetworkFlags adds docker's network and port publishing flags, with
// its hidden spellings --net, --net-alias and --dns-opt.
func addNetworkFlags(flags *pflag.FlagSet, o *containerOptions) {
	flags.Var(&o.networks, "network", "Connect a container to a network")
	flags.Var(&o.networks, "net", "Connect a container to a network")
	_ = flags.MarkHidden("net")
	flags.StringArrayVar(&o.aliases, "network-alias", nil, "Add network-scoped alias for the container")
	flags.StringArrayVar(&o.netAliases, "net-alias", nil, "Add network-scoped alias for the container")
	_ = flags.MarkHidden("net-alias")
	flags.StringVar(&o.ipv4, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	flags.StringVar(&o.ipv6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	flags.StringArrayVar(&o.linkLocalIPs, "link-local-ip", nil, "Container IPv4/IPv6 link-local addresses")
	flags.StringVar(&o.macAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	flags.StringVar(&o.domainname, "domainname", "", "Container NIS domain name")
	flags.StringArrayVarP(&o.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	flags.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	flags.StringArrayVar(&o.expose, "expose", nil, "Expose a port or a range of ports")
	flags.StringArrayVar(&o.dns, "dns", nil, "Set custom DNS servers")
	flags.StringArrayVar(&o.dnsSearch, "dns-search", nil, "Set custom DNS search domains")
	flags.StringArrayVar(&o.dnsOptions, "dns-option", nil, "Set DNS options")
	flags.StringArrayVar(&o.dnsOpts, "dns-opt", nil, "Set DNS options")
	_ = flags.MarkHidden("dns-opt")
	flags.StringArrayVar(&o.extraHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
}

// fromFlags records which flags were given explicitly.
func (o *containerOptions) fromFlags(flags *pflag.FlagSet, args []string) {
	o.entrypointSet = flags.Changed("entrypoint")
	o.pidsLimitSet = flags.Changed("pids-limit")
	o.image = args[0]
	if len(args) > 1 {
		o.args = args[1:]
	}
}

// createRequest is what create and run send to the daemon, and how they
// pull the image.
type createRequest struct {
	Name             string
	Config           *container.Config
	HostConfig       *container.HostConfig
	NetworkingConfig *network.NetworkingConfig
	Platform         *ocispec.Platform
	Pull             string // pullAlways, pullMissing or pullNever
	QuietPull        bool
}

// parse validates the options and translates them into an API request.
// Nothing here talks to the daemon.
func (o *containerOptions) parse() (*createRequest, error) {
	if err := validatePullPolicy(o.pull); err != nil {
		return nil, err
	}
	platform, err := image.ParsePlatform(o.platform)
	if err != nil {
		return nil, err
	}
	env, err := readEnv(o.envFiles, o.env)
	if err != nil {
		return nil, err
	}
	labels, err := parseLabels(o.labels)
	if err != nil {
		return nil, err
	}
	restart, err := parseRestartPolicy(o.restart)
	if err != nil {
		return nil, err
	}
	if o.autoRemove && !restart.IsNone() {
		return nil, errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	resources, err := o.parseResources()
	if err != nil {
		return nil, err
	}
	sysctls, err := parseKeyValues("sysctl", o.sysctls)
	if err != nil {
		return nil, err
	}
	tmpfs, err := parseTmpfs(o.tmpfs)
	if err != nil {
		return nil, err
	}
	shmSize, err := parseBytes("--shm-size", o.shmSize)
	if err != nil {
		return nil, err
	}
	secOpts, err := parseSecurityOpts(o.securityOp)
	if err != nil {
		return nil, err
	}
	netCfg, err := o.parseNetworking()
	if err != nil {
		return nil, err
	}
	health, err := o.parseHealthcheck()
	if err != nil {
		return nil, err
	}
	var mounts []mount.Mount
	for _, v := range o.mounts {
		m, err := parseMountFlag(v)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, m)
	}
	for _, v := range o.volumes {
		if v == "" {
			return nil, errors.New("invalid empty volume spec")
		}
	}

	cfg := &container.Config{
		Image:        o.image,
		Cmd:          o.args,
		Env:          env,
		WorkingDir:   o.workdir,
		User:         o.user,
		Hostname:     o.hostname,
		Domainname:   o.domainname,
		ExposedPorts: netCfg.exposed,
		Labels:       labels,
		Tty:          o.tty,
		OpenStdin:    o.stdin,
		AttachStdin:  o.stdin,
		StdinOnce:    o.stdin,
		AttachStdout: true,
		AttachStderr: true,
		Healthcheck:  health,
	}
	if o.entrypointSet {
		// An explicit empty --entrypoint resets the image's entrypoint.
		cfg.Entrypoint = []string{o.entrypoint}
	}
	host := &container.HostConfig{
		AutoRemove:      o.autoRemove,
		RestartPolicy:   restart,
		NetworkMode:     container.NetworkMode(o.networks.mode()),
		PortBindings:    netCfg.bindings,
		PublishAllPorts: o.publishAll,
		DNS:             netCfg.dns,
		DNSSearch:       netCfg.dnsSearch,
		DNSOptions:      netCfg.dnsOptions,
		ExtraHosts:      netCfg.extraHosts,
		ReadonlyRootfs:  o.readOnly,
		Privileged:      o.privileged,
		CapAdd:          o.capAdd,
		CapDrop:         o.capDrop,
		SecurityOpt:     secOpts.opts,
		MaskedPaths:     secOpts.maskedPaths,
		ReadonlyPaths:   secOpts.readonlyPaths,
		Sysctls:         sysctls,
		ShmSize:         shmSize,
		Tmpfs:           tmpfs,
		Binds:           o.volumes,
		Mounts:          mounts,
		VolumesFrom:     o.volumesFrom,
		Resources:       resources,
	}
	pull := o.pull
	if pull == "" {
		pull = pullMissing
	}
	return &createRequest{
		Name:             o.name,
		Config:           cfg,
		HostConfig:       host,
		NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: netCfg.endpoints},
		Platform:         platform,
		Pull:             pull,
		QuietPull:        o.quiet,
	}, nil
}

// parseHealthcheck turns the --health-* flags into a health check, as
// docker: --no-healthcheck is Test ["NONE"] and conflicts with the others.
func (o *containerOptions) parseHealthcheck() (*container.HealthConfig, error) {
	set := o.healthCmd != "" || o.healthInterval != 0 || o.healthTimeout != 0 || o.healthStartPeriod != 0 ||
		o.healthStartInterval != 0 || o.healthRetries != 0
	if o.noHealthcheck {
		if set {
			return nil, errors.New("--no-healthcheck conflicts with --health-* options")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !set {
		return nil, nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--health-interval", o.healthInterval}, {"--health-timeout", o.healthTimeout},
		{"--health-start-period", o.healthStartPeriod}, {"--health-start-interval", o.healthStartInterval}} {
		if d.v < 0 {
			return nil, fmt.Errorf("%s cannot be negative", d.name)
		}
	}
	if o.healthRetries < 0 {
		return nil, errors.New("--health-retries cannot be negative")
	}
	h := &container.HealthConfig{
		Interval: o.healthInterval, Timeout: o.healthTimeout, StartPeriod: o.healthStartPeriod,
		StartInterval: o.healthStartInterval, Retries: o.healthRetries,
	}
	if o.healthCmd != "" {
		h.Test = []string{"CMD-SHELL", o.healthCmd}
	}
	return h, nil
}

// networking is what the network flags translate to.
type networking struct {
	exposed    network.PortSet
	bindings   network.PortMap
	dns        []netip.Addr
	dnsSearch  []string
	dnsOptions []string
	extraHosts []string
	endpoints  map[string]*network.EndpointSettings
}

// parseNetworking validates the network, port, DNS and host flags. Like
// docker, published ports are exposed too, and the DNS search and option
// lists are sent empty rather than null.
func (o *containerOptions) parseNetworking() (networking, error) {
	var n networking
	var err error
	if n.exposed, n.bindings, err = parsePublish(o.publish); err != nil {
		return n, err
	}
	if err = parseExpose(n.exposed, o.expose); err != nil {
		return n, err
	}
	if n.dns, err = parseDNS(o.dns); err != nil {
		return n, err
	}
	if n.dnsSearch, err = parseDNSSearch(o.dnsSearch); err != nil {
		return n, err
	}
	n.dnsOptions = append(append([]string{}, o.dnsOptions...), o.dnsOpts...)
	if n.extraHosts, err = parseExtraHosts(o.extraHosts); err != nil {
		return n, err
	}
	n.endpoints, err = endpointsConfig(&o.networks, endpointFlags{
		ipv4:         o.ipv4,
		ipv6:         o.ipv6,
		aliases:      append(append([]string(nil), o.aliases...), o.netAliases...),
		macAddress:   o.macAddress,
		linkLocalIPs: o.linkLocalIPs,
	})
	return n, err
}

func (o *containerOptions) parseResources() (container.Resources, error) {
	var r container.Resources
	var err error
	if r.Memory, err = parseBytes("--memory", o.memory); err != nil {
		return r, err
	}
	if o.memorySwap == "-1" {
		r.MemorySwap = -1
	} else if r.MemorySwap, err = parseBytes("--memory-swap", o.memorySwap); err != nil {
		return r, err
	}
	if r.NanoCPUs, err = parseCPUs(o.cpus); err != nil {
		return r, err
	}
	if o.cpuShares < 0 {
		return r, fmt.Errorf("invalid value %d for --cpu-shares: must not be negative", o.cpuShares)
	}
	r.CPUShares = o.cpuShares
	r.CpusetCpus = o.cpusetCPUs
	if o.pidsLimitSet {
		limit := o.pidsLimit
		r.PidsLimit = &limit
	}
	for _, u := range o.ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return r, fmt.Errorf("invalid value %q for --ulimit: %w", u, err)
		}
		r.Ulimits = setUlimit(r.Ulimits, ul)
	}
	return r, nil
}

// setUlimit adds ul, replacing an earlier value for the same resource.
func setUlimit(list []*container.Ulimit, ul *container.Ulimit) []*container.Ulimit {
	for i, have := range list {
		if have.Name == ul.Name {
			list[i] = ul
			return list
		}
	}
	return append(list, ul)
}

// parseBytes reads a size such as "512m" or "1g" (binary units, like
// docker's -m). An empty value means unset.
func parseBytes(flag, value string) (int64, error) {
	if value == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(value)
	if err != nil {
		return 0, fmt.Errorf("invalid value %q for %s: %w", value, flag, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("invalid value %q for %s: must not be negative", value, flag)
	}
	return n, nil
}

// parseCPUs turns a decimal number of CPUs ("1.5") into nano CPUs.
func parseCPUs(value string) (int64, error) {
	if value == "" {
		return 0, nil
	}
	cpus, ok := new(big.Rat).SetString(value)
	if !ok {
		return 0, fmt.Errorf("invalid value %q for --cpus: not a number", value)
	}
	if cpus.Sign() < 0 {
		return 0, fmt.Errorf("invalid value %q for --cpus: must not be negative", value)
	}
	nano := cpus.Mul(cpus, big.NewRat(1e9, 1))
	if !nano.IsInt() || !nano.Num().IsInt64() {
		return 0, fmt.Errorf("invalid value %q for --cpus: too precise or too large", value)
	}
	return nano.Num().Int64(), nil
}

// parseRestartPolicy reads no|always|on-failure[:N]|unless-stopped.
func parseRestartPolicy(value string) (container.RestartPolicy, error) {
	if value == "" {
		return container.RestartPolicy{}, nil
	}
	name, count, hasCount := strings.Cut(value, ":")
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil {
			return p, fmt.Errorf("invalid restart policy %q: maximum retry count must be an integer", value)
		}
		p.MaximumRetryCount = n
	}
	if name == "" {
		return p, fmt.Errorf("invalid restart policy %q: no policy name", value)
	}
	if err := container.ValidateRestartPolicy(p); err != nil {
		return p, err
	}
	return p, nil
}

// parseLabels reads key=value labels; a bare key gets an empty value.
func parseLabels(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	labels := make(map[string]string, len(values))
	for _, l := range values {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid label %q: empty name", l)
		}
		labels[k] = v
	}
	return labels, nil
}

// parseKeyValues reads key=value pairs, e.g. for --sysctl.
func parseKeyValues(flag string, values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("invalid value %q for --%s: expected key=value", kv, flag)
		}
		m[k] = v
	}
	return m, nil
}

// parseTmpfs reads path[:options] values.
func parseTmpfs(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, t := range values {
		p, opts, _ := strings.Cut(t, ":")
		if !path.IsAbs(p) {
			return nil, fmt.Errorf("invalid value %q for --tmpfs: path must be absolute", t)
		}
		m[p] = opts
	}
	return m, nil
}

type securityOpts struct {
	opts          []string
	maskedPaths   []string
	readonlyPaths []string
}

// parseSecurityOpts checks --security-opt values. A seccomp profile given
// as a file is sent inline, as docker does; "systempaths=unconfined"
// becomes empty masked and read-only path lists.
func parseSecurityOpts(values []string) (securityOpts, error) {
	var out securityOpts
	for _, opt := range values {
		k, v, ok := strings.Cut(opt, "=")
		if !ok && k != "no-new-privileges" {
			k, v, ok = strings.Cut(opt, ":")
		}
		if (!ok || v == "") && k != "no-new-privileges" {
			return out, fmt.Errorf("invalid --security-opt %q: expected key=value", opt)
		}
		switch {
		case k == "systempaths" && v == "unconfined":
			out.maskedPaths, out.readonlyPaths = []string{}, []string{}
			continue
		case k == "seccomp" && v != "unconfined" && v != "builtin":
			profile, err := os.ReadFile(v)
			if err != nil {
				return out, fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, profile); err != nil {
				return out, fmt.Errorf("compacting json for seccomp profile (%s) failed: %w", v, err)
			}
			opt = "seccomp=" + compact.String()
		}
		out.opts = append(out.opts, opt)
	}
	return out, nil
}

// readEnv reads --env-file files, then --env values (which win), the way
// docker does: a bare NAME takes its value from the client's environment.
func readEnv(files, values []string) ([]string, error) {
	var env []string
	for _, f := range files {
		vars, err := parseEnvFile(f)
		if err != nil {
			return nil, err
		}
		env = append(env, vars...)
	}
	for _, v := range values {
		k, _, hasValue := strings.Cut(v, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid environment variable: %s", v)
		}
		if !hasValue {
			if val, ok := os.LookupEnv(k); ok {
				v = k + "=" + val
			}
		}
		env = append(env, v)
	}
	return env, nil
}

// parseEnvFile reads NAME=value lines, skipping blank lines and # comments.
// Values are kept verbatim; a line with only NAME takes the value from
// the client's environment, or is sent bare when it is not set there.
func parseEnvFile(filename string) ([]string, error) {
	data, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	var vars []string
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; scanner.Scan(); n++ {
		raw := scanner.Bytes()
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("env file %s contains invalid utf8 bytes at line %d", filename, n)
		}
		line := strings.TrimLeftFunc(string(raw), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, hasValue := strings.Cut(line, "=")
		if name == "" {
			return nil, fmt.Errorf("env file %s line %d: no variable name", filename, n)
		}
		if strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("env file %s line %d: variable '%s' contains whitespaces", filename, n, name)
		}
		switch val, ok := os.LookupEnv(name); {
		case hasValue:
			vars = append(vars, name+"="+value)
		case ok:
			vars = append(vars, name+"="+val)
		default:
			vars = append(vars, name)
		}
	}
	return vars, scanner.Err()
}
