package stats

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pouchcontainer/pouch/integration/internal/testenv"
)

const benchContainers = 100

var (
	benchOnce  sync.Once
	benchNames []string
	benchErr   error
)

// startBenchContainers starts the benchmark's busybox sleep containers
// once for the package; the daemon's cleanup removes them.
func startBenchContainers(b *testing.B) []string {
	benchOnce.Do(func() {
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		sem := make(chan struct{}, 8)
		benchNames = make([]string, benchContainers)
		for i := range benchNames {
			benchNames[i] = fmt.Sprintf("bench_%03d", i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if res := d.Pouch(b, nil, "run", "-d", "--name", benchNames[i], "busybox", "sleep", "100000"); res.ExitCode != 0 {
					mu.Lock()
					benchErr = fmt.Errorf("run %s: %+v", benchNames[i], res)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		b.Logf("started %d containers in %v", benchContainers, time.Since(start))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchNames
}

// countBenchRows counts the rows of the benchmark's containers that have
// figures.
func countBenchRows(out string) int {
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "bench_") && !strings.Contains(line, "--") {
			rows++
		}
	}
	return rows
}

// BenchmarkStatsNoStream100 times `pouch stats --no-stream` over 100
// running busybox sleep containers (the figure), and the same
// through the docker CLI and as 100 concurrent one-shot API samples. Run
// it alone:
//
//	POUCH_BIN_DIR=$PWD/bin go test ./integration/stats -run '^$' -bench StatsNoStream100 -benchtime 5x
//
// `stats --no-stream` takes each container's sample over a second, as
// Docker does (CPU % needs two samples): a second is its floor, whatever
// the number of containers, since the CLI reads them all at once.
func BenchmarkStatsNoStream100(b *testing.B) {
	startBenchContainers(b)
	b.Run("pouch", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			out := d.PouchOK(b, "stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}}")
			if n := countBenchRows(out); n != benchContainers {
				b.Fatalf("stats --no-stream listed %d of the %d containers:\n%s", n, benchContainers, out)
			}
		}
	})
	b.Run("docker", func(b *testing.B) {
		testenv.NeedDocker(b)
		for i := 0; i < b.N; i++ {
			r := d.Docker(b, nil, "stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.MemUsage}}")
			if n := countBenchRows(r.Stdout); r.ExitCode != 0 || n != benchContainers {
				b.Fatalf("docker stats --no-stream listed %d of the %d containers: %+v", n, benchContainers, r)
			}
		}
	})
	b.Run("api-one-shot", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var wg sync.WaitGroup
			for _, name := range benchNames {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r := d.Do(b, "GET", "/containers/"+name+"/stats?stream=false&one-shot=true", nil); r.Status != http.StatusOK {
						b.Errorf("stats of %s: %d %s", name, r.Status, r.Body)
					}
				}()
			}
			wg.Wait()
		}
	})
}
