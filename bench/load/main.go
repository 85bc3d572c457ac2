// Command load measures streamtoken's token server under load, side by
// side with what a user would run instead: a bare net/http handler that
// only signs, with the same key and the same RSA (OpenSSL's where it
// loads), and a bare Node.js signer (node:cluster, one worker per core,
// node:crypto), when node is installed. The same open-model load (vegeta)
// goes to each, in the same run, at rates around and above what the bare
// handler can sign, and from 64 clients each sending as fast as answered
// (the wrk -c64 of DESIGN.md). The machine's own limit, `openssl speed
// -multi NCPU rsa2048`, is measured in the same run.
//
// It runs a "cold" load (a different video per request: every token
// costs a signature) and a "hot" one (one video: identical requests),
// prints the medians of several runs side by side, checks DESIGN.md's
// targets, and writes an HTML latency plot per scenario. The servers run
// on loopback in processes of their own; the run stops by itself.
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
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/tsenart/vegeta/v12/lib/plot"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
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
	flag.IntVar(&cfg.runs, "runs", 5, "runs of every scenario; the table shows their medians")
	flag.IntVar(&cfg.clients, "clients", 64, "clients of the closed-model scenarios")
	flag.StringVar(&cfg.out, "out", "out", "directory of the HTML plots")
	flag.StringVar(&cfg.only, "only", "", "run only the scenarios whose name holds this (cold-64clients, hot-3x, ...)")
	flag.IntVar(&cfg.workers, "workers", 0, "the server's signing workers (0: its default, one per core)")
	flag.BoolVar(&cfg.noCache, "no-cache", false, "turn the server's token cache off")
	flag.BoolVar(&cfg.noNode, "no-node", false, "leave the Node.js signer out")
	flag.BoolVar(&cfg.noWrk, "no-wrk", false, "load the closed-model scenarios with vegeta even where wrk is installed")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the streamtoken server's CPU profile, of the whole run, to this `file`")
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
	duration   time.Duration
	runs       int
	clients    int
	out        string
	only       string
	workers    int
	noCache    bool
	noNode     bool
	noWrk      bool
	cpuProfile string
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
	tokens             int           // 200s
	cpuPerToken        time.Duration // the server's CPU time (its processes' user and system) per token
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
		c, err := startChild(impl, keyFile, apiToken, cfg.workers, cfg.noCache, cfg.cpuProfile)
		if err != nil {
			return err
		}
		servers = append(servers, c)
	}
	// The gateway, in front of an upstream of its own (a local server
	// playing Cloudflare's API), loaded in the closed-model scenarios.
	upstream, err := startChild("upstream", keyFile, apiToken, 0, false, "")
	if err != nil {
		return err
	}
	defer upstream.Close()
	gw, err := startChild("gateway", keyFile, apiToken, cfg.workers, cfg.noCache, "", upstreamEnv+"="+upstream.url+server.BasePath)
	if err != nil {
		return err
	}
	servers = append(servers, gw)
	if node, err := exec.LookPath("node"); cfg.noNode || err != nil {
		fmt.Fprintln(w, "no Node.js signer: node is not installed (apt-get install nodejs), or -no-node")
	} else if c, err := startNode(node, dir, keyFile, key.ID); err != nil {
		return fmt.Errorf("the Node.js signer: %w", err)
	} else {
		servers = append(servers, c)
	}
	use, version, _ := token.ResolveCrypto(token.CryptoAuto) // as the Go servers' signers resolve it
	fmt.Fprintf(w, "RSA of the Go servers: %s (%s)\n", use, version)
	limit, err := opensslSpeed(w)
	if err != nil {
		return err
	}

	l := &loader{apiToken: apiToken}
	if !cfg.noWrk {
		if l.wrk, err = newWrk(dir); err != nil {
			return err
		}
	}
	if l.wrk == nil {
		fmt.Fprintln(w, "closed-model load by vegeta (wrk is not installed, or -no-wrk): vegeta's own CPU, in Go on the same cores, weighs more than wrk's")
	} else {
		fmt.Fprintln(w, "closed-model load by wrk (-t2), open-model rates by vegeta")
	}
	bare := servers[0]
	fmt.Fprintf(w, "warming up, then measuring the bare handler's capacity (%d clients, %v)\n", cfg.clients, cfg.duration)
	for _, c := range servers {
		if _, err := l.attack(c, scenario{clients: cfg.clients}, 0, time.Second, nil); err != nil {
			return err
		}
	}
	warm, err := l.attack(bare, scenario{clients: cfg.clients}, 0, cfg.duration, nil)
	if err != nil {
		return err
	}
	capacity := warm.tokensPerSec
	if capacity < 10 {
		return fmt.Errorf("the bare handler signed %.0f tokens/s: too few to load", capacity)
	}
	fmt.Fprintf(w, "capacity: %.0f tokens/s\n\n", capacity)

	upstreamTokens, err := tokenRequests(upstream)
	if err != nil {
		return err
	}
	samples := map[string][][]sample{} // by scenario, by server
	plots := map[string]*plot.Plot{}
	for run := range cfg.runs {
		fmt.Fprintf(w, "run %d of %d\n", run+1, cfg.runs)
		for _, sc := range scenarios {
			id := sc.id()
			if samples[id] == nil {
				samples[id] = make([][]sample, len(servers))
			}
			var p *plot.Plot
			if run == cfg.runs-1 && (sc.clients == 0 || l.wrk == nil) { // vegeta's attacks of the last run are plotted
				p = plot.New(plot.Title(fmt.Sprintf("streamtoken load: %s (bare handler %.0f tokens/s)", sc.label(capacity), capacity)))
				plots[id] = p
			}
			// Rotate which server goes first: none always meets a machine
			// another just warmed or tired.
			for k := range servers {
				i := (k + run) % len(servers)
				if servers[i] == gw && sc.clients == 0 {
					continue // the gateway: closed-model scenarios alone
				}
				s, err := l.attack(servers[i], sc, capacity, cfg.duration, p)
				if err != nil {
					return err
				}
				samples[id][i] = append(samples[id][i], s)
				time.Sleep(500 * time.Millisecond) // let the other's backlog go
			}
		}
	}
	fmt.Fprintln(w)
	names := make([]string, len(servers))
	for i, c := range servers {
		names[i] = c.name
	}
	printTable(w, scenarios, names, samples, capacity, limit)
	after, err := tokenRequests(upstream)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "the gateway's upstream answered %d token requests during the runs (%d before them: the first token's authorization): %s\n",
		after-upstreamTokens, upstreamTokens, verdict(after == upstreamTokens))
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

// opensslSpeed measures the machine's limit: the RSA-2048 signatures per
// second of `openssl speed` on every core, or 0 (and says so) without the
// openssl command.
func opensslSpeed(w io.Writer) (float64, error) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		fmt.Fprintln(w, "no machine limit: the openssl command is not installed (apt-get install openssl)")
		return 0, nil
	}
	cores := runtime.NumCPU()
	out, err := exec.Command(bin, "speed", "-multi", strconv.Itoa(cores), "-seconds", "3", "rsa2048").Output()
	if err != nil {
		return 0, fmt.Errorf("openssl speed: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		// rsa 2048 bits 0.000227s 0.000013s   4406.0  76764.0
		if f := strings.Fields(line); len(f) == 7 && f[0] == "rsa" && f[1] == "2048" {
			if signs, err := strconv.ParseFloat(f[5], 64); err == nil {
				fmt.Fprintf(w, "machine limit: %.0f RSA-2048 signatures/s (openssl speed -multi %d rsa2048)\n", signs, cores)
				return signs, nil
			}
		}
	}
	return 0, fmt.Errorf("openssl speed: no rsa 2048 line in %q", out)
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
	wrk      *wrk          // the closed-model scenarios' load, when installed
	seq      atomic.Uint64 // the cold scenarios' videos
}

// attack loads c with sc for d and measures it, with the CPU time the
// server's processes used over it (from /proc) per token served; the
// results of vegeta's attacks go to p too.
func (l *loader) attack(c *child, sc scenario, capacity float64, d time.Duration, p *plot.Plot) (sample, error) {
	before := cpuTime(c.cmd.Process.Pid)
	s, err := l.load(c, sc, capacity, d, p)
	if err == nil && s.tokens > 0 {
		s.cpuPerToken = (cpuTime(c.cmd.Process.Pid) - before) / time.Duration(s.tokens)
	}
	return s, err
}

// load is attack's load.
func (l *loader) load(c *child, sc scenario, capacity float64, d time.Duration, p *plot.Plot) (sample, error) {
	if sc.clients > 0 && l.wrk != nil {
		return l.wrk.attack(c, sc, l.apiToken, d)
	}
	header := http.Header{
		"Authorization": {"Bearer " + l.apiToken},
		"Content-Type":  {"application/json"},
	}
	targeter := func(t *vegeta.Target) error {
		video := hotVideo
		if !sc.hot {
			video = fmt.Sprintf("%032x", l.seq.Add(1))
		}
		*t = vegeta.Target{Method: gen.CreateStreamTokenRoute.Method, Header: header, Body: []byte("{}"),
			URL: c.url + server.BasePath + gen.CreateStreamTokenPath(account, video)}
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
		p99: m.Latencies.P99, max: m.Latencies.Max, requests: int(m.Requests), tokens: m.StatusCodes["200"]}
	if m.Requests > 0 {
		n := float64(m.Requests)
		s.shed = float64(m.StatusCodes["429"]) / n
		s.errors = float64(int(m.Requests)-m.StatusCodes["200"]-m.StatusCodes["429"]) / n
	}
	return s, nil
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

// tokenRequests is how many token requests c has answered, from its
// /metrics.
func tokenRequests(c *child) (int, error) {
	resp, err := http.Get(c.url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "streamtoken_http_requests_total{") && strings.Contains(line, `route="`+tokenRoute+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return 0, fmt.Errorf("%s's /metrics: %q", c.name, line)
			}
			n += int(v)
		}
	}
	return n, nil
}
