package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// The targets of DESIGN.md's "Measured targets", checked on the medians:
// those of 64 clients are of signing at the machine's limit, against a bare
// handler and a Node.js signer with the same RSA (OpenSSL's).
const (
	minOverloadTokens = 0.85 // 64 clients: tokens/s at least this times the bare handler's
	maxOverloadShed   = 0.05 // and at most this share of 429s
	minNodeTokens     = 0.9  // and tokens/s at least this times the Node.js signer's
	maxNodeP99        = 1.0  // and p99 at most the Node.js signer's
	minLimitTokens    = 0.5  // and tokens/s at least this times openssl speed's signatures/s
	minHotTokens      = 8    // hot video: tokens/s at least this times the bare handler's
	minNodeRunRatio   = 1.0  // 64 clients, cold: the median of each run's tokens/s over Node's, at least this (the goal)
	maxNodeCPU        = 1.0  // 64 clients, cold: the median of each run's CPU time per token over Node's, at most this
	minGatewayTokens  = 0.9  // closed model: the median of each run's gateway tokens/s over the standalone server's, at least this
	cloudflareLimit   = 4.0  // tokens/s through Cloudflare's API: 1,200 requests per 5 minutes
)

// printTable prints, per scenario, the medians of every server (names[i]
// is servers[i]'s: "bare", "streamtoken", and "node" when it ran), ours
// with its ratios to the bare handler and to the Node.js signer, then the
// targets' verdicts; limit is the machine's signatures/s, or 0.
func printTable(w io.Writer, scenarios []scenario, names []string, samples map[string][][]sample, capacity, limit float64) {
	bareAt, oursAt, nodeAt := slices.Index(names, "bare"), slices.Index(names, "streamtoken"), slices.Index(names, "node")
	gatewayAt := slices.Index(names, "gateway")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tserver\ttokens/s\t×bare\t×node\tp50\tp90\tp99\t×bare\t×node\tmax\t429s\terrors\trequests\tCPU/token\t")
	for _, sc := range scenarios {
		all := samples[sc.id()]
		bare := medians(all[bareAt])
		var node sample
		if nodeAt >= 0 {
			node = medians(all[nodeAt])
		}
		for i, name := range names {
			if len(all[i]) == 0 {
				continue // not loaded in this scenario
			}
			m := medians(all[i])
			label := ""
			if i == 0 {
				label = sc.label(capacity)
			}
			ratios := func(f func(sample) float64) string {
				if i != oursAt && i != gatewayAt {
					return "\t"
				}
				r := fmt.Sprintf("%.2f\t", ratio(f(m), f(bare)))
				if nodeAt >= 0 {
					return r + fmt.Sprintf("%.2f", ratio(f(m), f(node)))
				}
				return r
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", label, name, m.tokensPerSec,
				ratios(func(s sample) float64 { return s.tokensPerSec }), ms(m.p50), ms(m.p90), ms(m.p99),
				ratios(func(s sample) float64 { return float64(s.p99) }), ms(m.max), pct(m.shed), pct(m.errors), m.requests, us(m.cpuPerToken))
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nlatencies are of every answer (200s, 429s and errors); tokens/s counts 200s; CPU/token is the server's processes'\n"+
		"CPU time (user and system, from /proc) over the attack divided by its 200s; medians of %d runs\n\n", len(samples[scenarios[0].id()][0]))

	for _, sc := range scenarios {
		if sc.rate != 0 {
			continue
		}
		all := samples[sc.id()]
		bare, ours := medians(all[bareAt]), medians(all[oursAt])
		tokens := ratio(ours.tokensPerSec, bare.tokensPerSec)
		if sc.hot {
			fmt.Fprintf(w, "hot video (%s): tokens/s %.1fx the bare handler's (target >= %dx): %s\n",
				sc.label(capacity), tokens, minHotTokens, verdict(tokens >= minHotTokens))
			continue
		}
		p99 := ratio(float64(ours.p99), float64(bare.p99))
		fmt.Fprintf(w, "%s: tokens/s %.2fx the bare handler's (target >= %.2fx), 429s %s (target <= %s), p99 %.2fx its: %s\n",
			sc.label(capacity), tokens, minOverloadTokens, pct(ours.shed), pct(maxOverloadShed), p99,
			verdict(tokens >= minOverloadTokens && ours.shed <= maxOverloadShed))
		if nodeAt >= 0 {
			node := medians(all[nodeAt])
			nt, np := ratio(ours.tokensPerSec, node.tokensPerSec), ratio(float64(ours.p99), float64(node.p99))
			fmt.Fprintf(w, "%s: tokens/s %.2fx the Node.js signer's (target >= %.1fx), p99 %.2fx its (target <= %.1fx): %s\n",
				sc.label(capacity), nt, minNodeTokens, np, maxNodeP99, verdict(nt >= minNodeTokens && np <= maxNodeP99))
			// Each run's own ratio (the servers take turns within a run):
			// its median and spread say more than a ratio of medians.
			var runs []float64
			for k := range min(len(all[oursAt]), len(all[nodeAt])) {
				runs = append(runs, ratio(all[oursAt][k].tokensPerSec, all[nodeAt][k].tokensPerSec))
			}
			lo, mid, hi := spread(runs)
			fmt.Fprintf(w, "%s: each run's tokens/s over the Node.js signer's: median %.2fx, from %.2fx to %.2fx over %d runs (target >= %.1fx): %s\n",
				sc.label(capacity), mid, lo, hi, len(runs), minNodeRunRatio, verdict(mid >= minNodeRunRatio))
			if !sc.hot && node.cpuPerToken > 0 {
				// Paired by run, as the tokens/s above: the machine's drift
				// between runs falls on both alike.
				var cpu []float64
				for k := range min(len(all[oursAt]), len(all[nodeAt])) {
					if n := all[nodeAt][k].cpuPerToken; n > 0 {
						cpu = append(cpu, ratio(float64(all[oursAt][k].cpuPerToken), float64(n)))
					}
				}
				lo, c, hi := spread(cpu)
				fmt.Fprintf(w, "%s: CPU per token %s, the Node.js signer's %s, the bare handler's %s; each run's over Node's: median %.2fx, from %.2fx to %.2fx (target <= %.1fx): %s\n",
					sc.label(capacity), us(ours.cpuPerToken), us(node.cpuPerToken), us(bare.cpuPerToken), c, lo, hi, maxNodeCPU, verdict(c <= maxNodeCPU))
			}
		}
		if gatewayAt >= 0 && len(all[gatewayAt]) > 0 {
			// Paired by run: the gateway's tokens/s over the standalone
			// server's, each run.
			var runs []float64
			for k := range min(len(all[oursAt]), len(all[gatewayAt])) {
				runs = append(runs, ratio(all[gatewayAt][k].tokensPerSec, all[oursAt][k].tokensPerSec))
			}
			lo, mid, hi := spread(runs)
			gwTokens := medians(all[gatewayAt]).tokensPerSec
			fmt.Fprintf(w, "%s: the gateway's tokens/s over the standalone server's, each run: median %.2fx, from %.2fx to %.2fx over %d runs (target >= %.1fx): %s\n",
				sc.label(capacity), mid, lo, hi, len(runs), minGatewayTokens, verdict(mid >= minGatewayTokens))
			fmt.Fprintf(w, "%s: the gateway's %.0f tokens/s are %.0fx Cloudflare's own API limit for the token endpoint (1,200 requests per 5 min: %.0f/s)\n",
				sc.label(capacity), gwTokens, gwTokens/cloudflareLimit, cloudflareLimit)
		}
		if limit > 0 {
			lt := ratio(ours.tokensPerSec, limit)
			fmt.Fprintf(w, "%s: tokens/s %.2fx the machine's limit, %.0f signatures/s (target >= %.1fx): %s\n",
				sc.label(capacity), lt, limit, minLimitTokens, verdict(lt >= minLimitTokens))
		}
	}
}

// spread is the least, the median and the greatest of xs (zeros for none).
func spread(xs []float64) (lo, mid, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	xs = slices.Sorted(slices.Values(xs))
	mid = xs[len(xs)/2]
	if len(xs)%2 == 0 {
		mid = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return xs[0], mid, xs[len(xs)-1]
}

// medians is the sample of the medians of xs.
func medians(xs []sample) sample {
	dur := func(f func(sample) time.Duration) time.Duration {
		return time.Duration(median(xs, func(s sample) float64 { return float64(f(s)) }))
	}
	return sample{
		tokensPerSec: median(xs, func(s sample) float64 { return s.tokensPerSec }),
		p50:          dur(func(s sample) time.Duration { return s.p50 }),
		p90:          dur(func(s sample) time.Duration { return s.p90 }),
		p99:          dur(func(s sample) time.Duration { return s.p99 }),
		max:          dur(func(s sample) time.Duration { return s.max }),
		shed:         median(xs, func(s sample) float64 { return s.shed }),
		errors:       median(xs, func(s sample) float64 { return s.errors }),
		requests:     int(median(xs, func(s sample) float64 { return float64(s.requests) })),
		cpuPerToken:  dur(func(s sample) time.Duration { return s.cpuPerToken }),
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1fms", float64(d)/1e6)
}

// us is a duration in microseconds, "-" for none.
func us(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(d)/1e3)
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
