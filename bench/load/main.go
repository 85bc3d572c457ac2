// Command load measures streamtoken's token server under load, side by
// side with a bare net/http handler that only signs with the same key:
// the same open-model load (vegeta) against both, in the same run, at
// rates around and above what the bare handler can sign, and with 64
// clients each sending as fast as answered (the wrk -c64 of DESIGN.md).
//
// It runs a "cold" load (a different video per request: every token
// costs a signature) and a "hot" one (one video: identical requests),
// prints the medians of several runs side by side, and writes an HTML
// latency plot per scenario. Both servers run on loopback in processes
// of their own; the run stops by itself.
//
//	go run ./load                 # from bench/: make load does this
//	go run ./load -d 2s -runs 1   # a quick look
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"

	"github.com/streamtoken/streamtoken/token"
)

func main() {
	if len(os.Args) == 6 && os.Args[1] == serveArg {
		if err := serveChild(os.Args[2], os.Args[3], os.Args[4], os.Args[5]); err != nil {
			fmt.Fprintln(os.Stderr, "load: serve:", err)
			os.Exit(1)
		}
		return
	}
	var cfg config
	flag.DurationVar(&cfg.duration, "d", 4*time.Second, "length of each attack")
	flag.IntVar(&cfg.runs, "runs", 3, "runs of every scenario; the table shows their medians")
	flag.IntVar(&cfg.clients, "clients", 64, "clients of the closed-model scenarios")
	flag.StringVar(&cfg.out, "out", "out", "directory of the HTML plots")
	flag.StringVar(&cfg.only, "only", "", "run only the scenarios whose name holds this (cold-64clients, hot-3x, ...)")
	flag.IntVar(&cfg.workers, "workers", 0, "the server's signing workers (0: its default, one per core)")
	flag.BoolVar(&cfg.noCache, "no-cache", false, "turn the server's token cache off")
	flag.Parse()
	switch {
	case cfg.duration < time.Second || cfg.duration > time.Minute:
		fatal(fmt.Errorf("-d %v: want 1s to 1m", cfg.duration))
	case cfg.runs < 1 || cfg.runs > 9:
		fatal(fmt.Errorf("-runs %d: want 1 to 9", cfg.runs))
	case cfg.clients < 1 || cfg.clients > 1024:
		fatal(fmt.Errorf("-clients %d: want 1 to 1024", cfg.clients))
	}
	if err := run(cfg, os.Stdout); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}

type config struct {
	duration time.Duration
	runs     int
	clients  int
	out      string
	only     string
	workers  int
	noCache  bool
}

// timeout is how long a request may take before it counts as an error.
const timeout = 10 * time.Second

// hotVideo is the video of the hot scenario (Cloudflare's example ID).
const hotVideo = "ea95132c15732412d22c1476fa83f27a"

const account = "023e105f4ecef8ad9ca31a8372d0c353"

// scenario is one row of the table: a load, run against both servers.
type scenario struct {
	name    string
	hot     bool    // one video, else a new one per request
	clients int     // closed model: this many clients, each waiting for its answer
	rate    float64 // open model: this multiple of the bare handler's capacity
}

// sample is what one attack measured.
type sample struct {
	tokensPerSec       float64
	p50, p90, p99, max time.Duration
	shed, errors       float64 // fractions of the requests: 429s, other failures
	requests           int
}

// run runs the scenarios of cfg and reports on w.
func run(cfg config, w io.Writer) error {
	scenarios := []scenario{
		{name: "cold", clients: cfg.clients},
		{name: "cold", rate: 0.5},
		{name: "cold", rate: 1},
		{name: "cold", rate: 1.5},
		{name: "cold", rate: 3},
		{name: "hot", hot: true, clients: cfg.clients},
		{name: "hot", hot: true, rate: 3},
	}
	scenarios = slices.DeleteFunc(scenarios, func(sc scenario) bool { return !strings.Contains(sc.id(), cfg.only) })
	if len(scenarios) == 0 {
		return fmt.Errorf("-only %q: no such scenario", cfg.only)
	}
	dir, err := os.MkdirTemp("", "streamtoken-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key, err := token.GenerateKey()
	if err != nil {
		return err
	}
	pem, err := key.PrivatePEM()
	if err != nil {
		return err
	}
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem, 0o600); err != nil {
		return err
	}
	apiToken := randomHex(20)

	var servers []*child
	defer func() {
		for _, c := range servers {
			_ = c.Close()
		}
	}()
	for _, impl := range []string{"bare", "streamtoken"} {
		c, err := startChild(impl, keyFile, apiToken, cfg.workers, cfg.noCache)
		if err != nil {
			return err
		}
		servers = append(servers, c)
	}
	bare, ours := servers[0], servers[1]

	l := &loader{apiToken: apiToken}
	fmt.Fprintf(w, "warming up, then measuring the bare handler's capacity (%d clients, %v)\n", cfg.clients, cfg.duration)
	l.attack(bare, scenario{clients: cfg.clients}, 0, time.Second, nil)
	l.attack(ours, scenario{clients: cfg.clients}, 0, time.Second, nil)
	capacity := l.attack(bare, scenario{clients: cfg.clients}, 0, cfg.duration, nil).tokensPerSec
	if capacity < 10 {
		return fmt.Errorf("the bare handler signed %.0f tokens/s: too few to load", capacity)
	}
	fmt.Fprintf(w, "capacity: %.0f tokens/s\n\n", capacity)

	samples := map[string][][]sample{} // by scenario, by server
	plots := map[string]*plot.Plot{}
	for run := range cfg.runs {
		fmt.Fprintf(w, "run %d of %d\n", run+1, cfg.runs)
		for _, sc := range scenarios {
			id := sc.id()
			if samples[id] == nil {
				samples[id] = make([][]sample, 2)
			}
			var p *plot.Plot
			if run == cfg.runs-1 { // the last run is plotted
				p = plot.New(plot.Title(fmt.Sprintf("streamtoken load: %s (bare handler %.0f tokens/s)", sc.label(capacity), capacity)))
				plots[id] = p
			}
			// Alternate which server goes first: neither always meets a
			// machine the other just warmed or tired.
			order := []int{0, 1}
			if run%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				s := l.attack(servers[i], sc, capacity, cfg.duration, p)
				samples[id][i] = append(samples[id][i], s)
				time.Sleep(500 * time.Millisecond) // let the other's backlog go
			}
		}
	}
	fmt.Fprintln(w)
	printTable(w, scenarios, samples, capacity)
	paths, err := writePlots(cfg.out, scenarios, plots)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nlatency plots (open in a browser):")
	for _, p := range paths {
		fmt.Fprintln(w, "  "+p)
	}
	return nil
}

func (sc scenario) id() string {
	if sc.clients > 0 {
		return fmt.Sprintf("%s-%dclients", sc.name, sc.clients)
	}
	return fmt.Sprintf("%s-%gx", sc.name, sc.rate)
}

func (sc scenario) label(capacity float64) string {
	if sc.clients > 0 {
		return fmt.Sprintf("%s, %d clients", sc.name, sc.clients)
	}
	return fmt.Sprintf("%s, %.0f/s (%gx)", sc.name, sc.rate*capacity, sc.rate)
}

// loader sends the load.
type loader struct {
	apiToken string
	seq      atomic.Uint64 // the cold scenarios' videos
}

// attack loads c with sc for d and measures it; the results go to p too.
func (l *loader) attack(c *child, sc scenario, capacity float64, d time.Duration, p *plot.Plot) sample {
	header := http.Header{
		"Authorization": {"Bearer " + l.apiToken},
		"Content-Type":  {"application/json"},
	}
	targeter := func(t *vegeta.Target) error {
		video := hotVideo
		if !sc.hot {
			video = fmt.Sprintf("%032x", l.seq.Add(1))
		}
		*t = vegeta.Target{Method: http.MethodPost, Header: header, Body: []byte("{}"),
			URL: c.url + "/client/v4/accounts/" + account + "/stream/" + video + "/token"}
		return nil
	}
	// A transport of the attack's own, closed with it: the connections of
	// one attack (thousands, under overload) are not left open for the
	// rest of the run.
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
	}
	defer tr.CloseIdleConnections()
	opts := []func(*vegeta.Attacker){vegeta.Client(&http.Client{Timeout: timeout, Transport: tr})}
	var pacer vegeta.Pacer
	if sc.clients > 0 {
		opts = append(opts, vegeta.Workers(uint64(sc.clients)), vegeta.MaxWorkers(uint64(sc.clients)))
		pacer = vegeta.Rate{} // as fast as answered
	} else {
		pacer = vegeta.Rate{Freq: max(1, int(sc.rate*capacity)), Per: time.Second}
	}
	attacker := vegeta.NewAttacker(opts...)
	var m vegeta.Metrics
	for r := range attacker.Attack(targeter, pacer, d, c.name) {
		m.Add(r)
		if p != nil {
			_ = p.Add(r)
		}
	}
	m.Close()
	s := sample{tokensPerSec: m.Throughput, p50: m.Latencies.P50, p90: m.Latencies.P90,
		p99: m.Latencies.P99, max: m.Latencies.Max, requests: int(m.Requests)}
	if m.Requests > 0 {
		n := float64(m.Requests)
		s.shed = float64(m.StatusCodes["429"]) / n
		s.errors = float64(int(m.Requests)-m.StatusCodes["200"]-m.StatusCodes["429"]) / n
	}
	return s
}

// median is the median of xs by key.
func median(xs []sample, key func(sample) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = key(x)
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func writePlots(dir string, scenarios []scenario, plots map[string]*plot.Plot) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, sc := range scenarios {
		p := plots[sc.id()]
		if p == nil {
			continue
		}
		p.Close()
		path := filepath.Join(dir, "load-"+sc.id()+".html")
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		_, werr := p.WriteTo(f)
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return nil, fmt.Errorf("%s: %w", path, werr)
		}
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		paths = append(paths, path)
	}
	return paths, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
