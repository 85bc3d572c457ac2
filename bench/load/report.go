package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// The targets of DESIGN.md's "Measured targets", checked on the medians.
const (
	minOverloadTokens = 0.85 // overload: tokens/s at least this times the bare handler's
	maxOverloadP99    = 0.5  // and p99 at most this times the bare handler's
	maxOverloadShed   = 0.05 // and at most this share of 429s
	minHotTokens      = 8    // hot video: tokens/s at least this times the bare handler's
)

// printTable prints, per scenario, the medians of both servers, ours
// with its ratios to the bare handler, then the targets' verdicts.
func printTable(w io.Writer, scenarios []scenario, samples map[string][][]sample, capacity float64) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tserver\ttokens/s\t×bare\tp50\tp90\tp99\t×bare\tmax\t429s\terrors\trequests\t")
	for _, sc := range scenarios {
		bare, ours := medians(samples[sc.id()][0]), medians(samples[sc.id()][1])
		fmt.Fprintf(tw, "%s\tbare\t%.0f\t\t%s\t%s\t%s\t\t%s\t%s\t%s\t%d\t\n", sc.label(capacity),
			bare.tokensPerSec, ms(bare.p50), ms(bare.p90), ms(bare.p99), ms(bare.max), pct(bare.shed), pct(bare.errors), bare.requests)
		fmt.Fprintf(tw, "\tstreamtoken\t%.0f\t%.2f\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%d\t\n",
			ours.tokensPerSec, ratio(ours.tokensPerSec, bare.tokensPerSec), ms(ours.p50), ms(ours.p90), ms(ours.p99),
			ratio(float64(ours.p99), float64(bare.p99)), ms(ours.max), pct(ours.shed), pct(ours.errors), ours.requests)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nlatencies are of every answer (200s, 429s and errors); tokens/s counts 200s; medians of %d runs\n\n", len(samples[scenarios[0].id()][0]))

	for _, sc := range scenarios {
		if sc.rate != 0 {
			continue
		}
		bare, ours := medians(samples[sc.id()][0]), medians(samples[sc.id()][1])
		tokens := ratio(ours.tokensPerSec, bare.tokensPerSec)
		if sc.hot {
			fmt.Fprintf(w, "hot video (%s): tokens/s %.1fx the bare handler's (target >= %dx): %s\n",
				sc.label(capacity), tokens, minHotTokens, verdict(tokens >= minHotTokens))
			continue
		}
		p99 := ratio(float64(ours.p99), float64(bare.p99))
		fmt.Fprintf(w, "overload (%s): tokens/s %.2fx (target >= %.2fx), p99 %.2fx (target <= %.1fx), 429s %s (target <= %s): %s\n",
			sc.label(capacity), tokens, minOverloadTokens, p99, maxOverloadP99, pct(ours.shed), pct(maxOverloadShed),
			verdict(tokens >= minOverloadTokens && p99 <= maxOverloadP99 && ours.shed <= maxOverloadShed))
	}
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

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
