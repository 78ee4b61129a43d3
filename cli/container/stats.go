package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pouchcontainer/pouch/cli/command"
	"github.com/pouchcontainer/pouch/cli/formatter"
)

const defaultStatsFormat = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

type statsOptions struct {
	all        bool
	noStream   bool
	noTrunc    bool
	format     string
	containers []string
}

func newStatsCommand(deps *Deps) *cobra.Command {
	var opts statsOptions
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			return runStats(cmd.Context(), deps, &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	flags.BoolVar(&opts.noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output")
	flags.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

// statsRefresh is how often the table is redrawn while streaming, and how
// often the list of containers is read again when none were named.
const (
	statsRefresh = time.Second
	statsRelist  = 2 * time.Second
)

func runStats(ctx context.Context, deps *Deps, opts *statsOptions) error {
	api := deps.Client
	format := formatter.Format(opts.format)
	if opts.format == "" || opts.format == formatter.TableFormatKey {
		format = defaultStatsFormat
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	set := &statsSet{api: api, stream: !opts.noStream}
	named := len(opts.containers) > 0
	if named {
		for _, name := range opts.containers {
			set.add(ctx, name)
		}
	} else if err := set.relist(ctx, opts.all); err != nil {
		return err
	}
	// Every container's first sample (or failure), fetched concurrently.
	set.waitFirst()
	if named {
		// As docker: a container that cannot be read fails the command.
		var errs []string
		for _, e := range set.entries() {
			if e.err != nil && !e.seen {
				errs = append(errs, e.err.Error())
			}
		}
		if len(errs) > 0 {
			return errors.New(strings.Join(errs, "\n"))
		}
	}
	render := func(w io.Writer) error {
		rows := set.entries()
		views := make([]*statsRow, len(rows))
		for i := range rows {
			views[i] = &statsRow{e: rows[i], trunc: !opts.noTrunc}
		}
		return formatter.Write(w, format, statsHeader, views)
	}
	if opts.noStream {
		return render(deps.Out)
	}
	terminal := command.IsTerminal(deps.Out)
	ticker := time.NewTicker(statsRefresh)
	defer ticker.Stop()
	lastList := time.Now()
	for frame := 0; ; frame++ {
		var buf bytes.Buffer
		if err := render(&buf); err != nil {
			return err
		}
		if terminal {
			// Redraw in place: home, each line cleared to its end, and
			// whatever the last frame had below cleared.
			var screen bytes.Buffer
			if frame == 0 {
				screen.WriteString("\033[2J") // a clean screen to start
			}
			screen.WriteString("\033[H")
			for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
				screen.WriteString(line + "\033[K\n")
			}
			screen.WriteString("\033[J")
			buf = screen
		}
		if _, err := buf.WriteTo(deps.Out); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if !named && time.Since(lastList) >= statsRelist {
			lastList = time.Now()
			_ = set.relist(ctx, opts.all) // keep showing the last list
		}
	}
}

// statsEntry is the latest figures of one container, as docker's stats
// shows them.
type statsEntry struct {
	container         string // as named, or the ID when listed
	id, name          string
	cpuPercent        float64
	memory, memLimit  float64
	memPercent        float64
	netRx, netTx      float64
	blkRead, blkWrite uint64
	pids              uint64
	err               error // the last failure: figures show as "--"
	seen              bool  // a sample arrived
}

// statsCollector follows one container's stats.
type statsCollector struct {
	name   string // as named, or the ID when listed
	mu     sync.Mutex
	entry  statsEntry
	first  chan struct{} // closed at the first sample or failure
	once   sync.Once
	cancel context.CancelFunc
}

func (c *statsCollector) set(fn func(*statsEntry)) {
	c.mu.Lock()
	fn(&c.entry)
	c.mu.Unlock()
	c.once.Do(func() { close(c.first) })
}

func (c *statsCollector) get() statsEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entry
}

// statsSet is the containers shown, in order.
type statsSet struct {
	api    APIClient
	stream bool

	mu         sync.Mutex
	collectors []*statsCollector
}

func (s *statsSet) add(ctx context.Context, name string) {
	ctx, cancel := context.WithCancel(ctx)
	c := &statsCollector{name: name, entry: statsEntry{container: name}, first: make(chan struct{}), cancel: cancel}
	s.mu.Lock()
	s.collectors = append(s.collectors, c)
	s.mu.Unlock()
	go s.collect(ctx, c)
}

// relist follows the containers listed now (running ones, or all) and
// drops those gone from the list.
func (s *statsSet) relist(ctx context.Context, all bool) error {
	res, err := s.api.ContainerList(ctx, client.ContainerListOptions{All: all})
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, c := range res.Items {
		listed[c.ID] = true
	}
	s.mu.Lock()
	have := map[string]bool{}
	kept := s.collectors[:0]
	for _, c := range s.collectors {
		if listed[c.name] {
			kept = append(kept, c)
			have[c.name] = true
		} else {
			c.cancel()
		}
	}
	s.collectors = kept
	s.mu.Unlock()
	for _, c := range res.Items {
		if !have[c.ID] {
			s.add(ctx, c.ID)
		}
	}
	return nil
}

func (s *statsSet) waitFirst() {
	s.mu.Lock()
	cs := append([]*statsCollector(nil), s.collectors...)
	s.mu.Unlock()
	for _, c := range cs {
		<-c.first
	}
}

func (s *statsSet) entries() []statsEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]statsEntry, len(s.collectors))
	for i, c := range s.collectors {
		out[i] = c.get()
	}
	return out
}

// collect reads the container's stats: one sample taken over a second
// (so that CPU % has a previous sample) without streaming, else the
// stream of one sample per second.
func (s *statsSet) collect(ctx context.Context, c *statsCollector) {
	name := c.name
	res, err := s.api.ContainerStats(ctx, name, client.ContainerStatsOptions{Stream: s.stream, IncludePreviousSample: !s.stream})
	if err != nil {
		c.set(func(e *statsEntry) { e.err = err })
		return
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var v container.StatsResponse
		if err := dec.Decode(&v); err != nil {
			if ctx.Err() == nil {
				if errors.Is(err, io.EOF) {
					err = fmt.Errorf("stats of %s ended", name)
				}
				c.set(func(e *statsEntry) { e.err = err })
			}
			return
		}
		c.set(func(e *statsEntry) { fillEntry(e, &v) })
		if !s.stream {
			return
		}
	}
}

// fillEntry computes docker's figures from a sample.
func fillEntry(e *statsEntry, v *container.StatsResponse) {
	e.err, e.seen = nil, true
	if v.ID != "" {
		e.id = v.ID
	}
	if v.Name != "" {
		e.name = strings.TrimPrefix(v.Name, "/")
	}
	e.cpuPercent = cpuPercent(v.PreCPUStats, v.CPUStats)
	e.memory = memoryNoCache(v.MemoryStats)
	e.memLimit = float64(v.MemoryStats.Limit)
	e.memPercent = 0
	if e.memLimit != 0 {
		e.memPercent = e.memory / e.memLimit * 100
	}
	e.netRx, e.netTx = 0, 0
	for _, n := range v.Networks {
		e.netRx += float64(n.RxBytes)
		e.netTx += float64(n.TxBytes)
	}
	e.blkRead, e.blkWrite = 0, 0
	for _, b := range v.BlkioStats.IoServiceBytesRecursive {
		if b.Op == "" {
			continue
		}
		switch b.Op[0] {
		case 'r', 'R':
			e.blkRead += b.Value
		case 'w', 'W':
			e.blkWrite += b.Value
		}
	}
	e.pids = v.PidsStats.Current
}

// cpuPercent is the container's share of the host's CPU time between two
// samples, scaled to the number of CPUs (100% is one CPU busy).
func cpuPercent(prev, cur container.CPUStats) float64 {
	cpuDelta := float64(cur.CPUUsage.TotalUsage) - float64(prev.CPUUsage.TotalUsage)
	systemDelta := float64(cur.SystemUsage) - float64(prev.SystemUsage)
	online := float64(cur.OnlineCPUs)
	if online == 0 {
		online = float64(len(cur.CPUUsage.PercpuUsage))
	}
	if systemDelta > 0 && cpuDelta > 0 {
		return cpuDelta / systemDelta * online * 100
	}
	return 0
}

// memoryNoCache is the memory in use less the page cache the kernel can
// drop at once: total_inactive_file on cgroup v1, inactive_file on v2.
func memoryNoCache(m container.MemoryStats) float64 {
	if v, v1 := m.Stats["total_inactive_file"]; v1 && v < m.Usage {
		return float64(m.Usage - v)
	}
	if v := m.Stats["inactive_file"]; v < m.Usage {
		return float64(m.Usage - v)
	}
	return float64(m.Usage)
}

var statsHeader = formatter.Header{
	"Container": "CONTAINER",
	"ID":        "CONTAINER ID",
	"Name":      "NAME",
	"CPUPerc":   "CPU %",
	"MemUsage":  "MEM USAGE / LIMIT",
	"MemPerc":   "MEM %",
	"NetIO":     "NET I/O",
	"BlockIO":   "BLOCK I/O",
	"PIDs":      "PIDS",
}

// statsRow is what stats templates see: {{.Name}}, {{.CPUPerc}} and so on.
type statsRow struct {
	e     statsEntry
	trunc bool
}

func (r *statsRow) invalid() bool { return r.e.err != nil }

// Container is the container as named, or its ID when listed.
func (r *statsRow) Container() string { return r.e.container }

// ID is the container's ID, truncated unless --no-trunc.
func (r *statsRow) ID() string {
	id := r.e.id
	if id == "" {
		id = r.e.container
	}
	if r.trunc && len(id) > 12 && isHexID(id) {
		return id[:12]
	}
	return id
}

func isHexID(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Name is the container's name.
func (r *statsRow) Name() string {
	if r.e.name == "" {
		return "--"
	}
	return r.e.name
}

func (r *statsRow) CPUPerc() string {
	if r.invalid() {
		return "--"
	}
	return fmt.Sprintf("%.2f%%", r.e.cpuPercent)
}

func (r *statsRow) MemUsage() string {
	if r.invalid() {
		return "-- / --"
	}
	return units.BytesSize(r.e.memory) + " / " + units.BytesSize(r.e.memLimit)
}

func (r *statsRow) MemPerc() string {
	if r.invalid() {
		return "--"
	}
	return fmt.Sprintf("%.2f%%", r.e.memPercent)
}

func (r *statsRow) NetIO() string {
	if r.invalid() {
		return "--"
	}
	return units.HumanSizeWithPrecision(r.e.netRx, 3) + " / " + units.HumanSizeWithPrecision(r.e.netTx, 3)
}

func (r *statsRow) BlockIO() string {
	if r.invalid() {
		return "--"
	}
	return units.HumanSizeWithPrecision(float64(r.e.blkRead), 3) + " / " + units.HumanSizeWithPrecision(float64(r.e.blkWrite), 3)
}

func (r *statsRow) PIDs() string {
	if r.invalid() {
		return "--"
	}
	return fmt.Sprintf("%d", r.e.pids)
}

// MarshalJSON renders the row for --format json with docker's fields.
func (r *statsRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"BlockIO": r.BlockIO(), "CPUPerc": r.CPUPerc(), "Container": r.Container(), "ID": r.ID(),
		"MemPerc": r.MemPerc(), "MemUsage": r.MemUsage(), "Name": r.Name(), "NetIO": r.NetIO(), "PIDs": r.PIDs(),
	})
}
