package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/token"
)

// tokenFlags are the flags of every command that makes a token.
type tokenFlags struct {
	exp, nbf     string
	downloadable bool
	rules        []string // --rule, one rule each
	rulesFile    string   // --rules FILE or -
	customerCode string
	output       output
	strict       bool // a finding of token.Lint refuses the rules
}

func (f *tokenFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.exp, "exp", "", "when the token expires: RFC 3339, unix seconds, or a duration from now such as 2h (default 1h, at most 24h)")
	fl.StringVar(&f.nbf, "nbf", "", "when the token starts to work, in the same forms (default 1h ago)")
	fl.BoolVar(&f.downloadable, "downloadable", false, "allow the MP4 download link too")
	fl.StringArrayVar(&f.rules, "rule", nil, `an access rule "ACTION TYPE [VALUES]", such as "allow ip.src 10.0.0.0/8, 2001:db8::/32" or "block any" (repeatable, tried in order)`)
	fl.StringVar(&f.rulesFile, "rules", "", "access rules as a JSON array in the API's form, from `FILE` or - for stdin")
	fl.StringVar(&f.customerCode, "customer-code", "", "your customer-<CODE>.cloudflarestream.com code: also print the signed URLs")
	outputFlag(fl, &f.output, "text (the token on one line; with --customer-code, then one line per signed URL: NAME URL) or json (token, claims, URLs)")
	fl.BoolVar(&f.strict, "strict", false, "refuse rules that do what they likely do not mean (restrict nothing, never reached, one IP family, a repeat) rather than warn")
}

// lint says on stderr what the rules of a valid request do that their
// author likely did not mean (token.Lint), one line each, and goes on;
// with --strict it refuses them instead. An invalid request is left to
// the refusal that names its flag.
func (f *tokenFlags) lint(stderr io.Writer, r token.Request, now time.Time) error {
	if r.Validate(now) != nil {
		return nil
	}
	findings := token.Lint(r.AccessRules)
	for _, finding := range findings {
		fmt.Fprintln(stderr, "streamtoken: warning: "+finding.String())
	}
	if f.strict && len(findings) > 0 {
		return badInput("--strict: the access rules have %d finding(s), above", len(findings))
	}
	return nil
}

// timeValue parses a time flag: RFC 3339, unix seconds, or a duration from
// now ("2h", "-30m").
func timeValue(flag, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, badInput("--%s %q: want RFC 3339 (2026-11-28T15:04:05Z), unix seconds, or a duration from now such as 2h", flag, s)
}

// ruleSource says where each access rule came from, to name it in errors.
type ruleSource []string

// options builds the token options the flags ask for.
func (f *tokenFlags) options(e env, videoID string, now time.Time) (token.Request, ruleSource, error) {
	o := token.Request{VideoID: videoID, Downloadable: f.downloadable}
	var err error
	if f.exp != "" {
		if o.ExpiresAt, err = timeValue("exp", f.exp, now); err != nil {
			return o, nil, err
		}
	}
	if f.nbf != "" {
		if o.NotBefore, err = timeValue("nbf", f.nbf, now); err != nil {
			return o, nil, err
		}
	}
	if f.customerCode != "" {
		if err := token.CheckCustomerCode(f.customerCode); err != nil {
			return o, nil, badInput("--customer-code: %v", err)
		}
	}
	var src ruleSource
	if f.rulesFile != "" {
		if len(f.rules) > 0 {
			return o, nil, badInput("--rules and --rule: give one or the other")
		}
		if o.AccessRules, err = readRules(e, f.rulesFile); err != nil {
			return o, nil, err
		}
		for i := range o.AccessRules {
			src = append(src, fmt.Sprintf("--rules [%d]", i))
		}
	}
	for i, s := range f.rules {
		r, err := parseRule(s)
		if err != nil {
			return o, nil, badInput("--rule %q: %v", s, err)
		}
		o.AccessRules = append(o.AccessRules, r)
		src = append(src, fmt.Sprintf("--rule %q", f.rules[i]))
	}
	return o, src, nil
}

// parseRule reads "ACTION TYPE [VALUES]": VALUES is a comma-separated list
// of addresses or CIDRs for ip.src, of country codes for ip.geoip.country,
// with or without spaces after the commas.
func parseRule(s string) (token.Rule, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return token.Rule{}, errors.New(`want "ACTION TYPE [VALUES]", such as "block ip.geoip.country US,MX"`)
	}
	r := token.Rule{Action: token.Action(fields[0]), Type: token.RuleType(fields[1])}
	switch r.Action {
	case token.ActionAllow, token.ActionBlock:
	default:
		return r, fmt.Errorf("unknown action %q: want allow or block", fields[0])
	}
	var values []string
	for v := range strings.SplitSeq(strings.Join(fields[2:], " "), ",") {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
		case strings.ContainsAny(v, " \t"):
			return r, fmt.Errorf("%q: separate values with commas, such as \"10.0.0.0/8, 192.168.0.0/16\"", v)
		default:
			values = append(values, v)
		}
	}
	switch r.Type {
	case token.RuleAny:
		if len(values) > 0 {
			return r, errors.New("an any rule takes no values")
		}
	case token.RuleIPSrc:
		if len(values) == 0 {
			return r, errors.New("an ip.src rule needs addresses or CIDRs, comma-separated")
		}
		r.IP = values
	case token.RuleCountry:
		if len(values) == 0 {
			return r, errors.New("an ip.geoip.country rule needs country codes, comma-separated")
		}
		r.Country = values
	default:
		return r, fmt.Errorf("unknown type %q: want any, ip.src or ip.geoip.country", fields[1])
	}
	return r, nil
}

// readRules reads a JSON array of rules in the API's form, unknown fields
// refused.
func readRules(e env, name string) ([]token.Rule, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = files.ReadAll("standard input", e.stdin)
	} else {
		data, err = files.Read(name)
	}
	if err != nil {
		return nil, badInput("--rules: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var rules []token.Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, badInput("--rules: not a JSON array of rules: %v", err)
	}
	return rules, nil
}

// flagOf names the flag behind a violation of the token's options.
func (src ruleSource) flagOf(v token.Violation, keyFlags map[string]string) string {
	if strings.HasPrefix(v.Pointer, "/accessRules/") {
		rest := strings.TrimPrefix(v.Pointer, "/accessRules/")
		idx, _, _ := strings.Cut(rest, "/")
		if i, err := strconv.Atoi(idx); err == nil && i < len(src) {
			return src[i] // the problem quotes the value at fault
		}
	}
	switch v.Pointer {
	case "/exp":
		return "--exp"
	case "/nbf":
		return "--nbf"
	case "/accessRules":
		return "--rule"
	}
	if f, ok := keyFlags[v.Pointer]; ok {
		return f
	}
	if f, ok := keyFlags[v.Field]; ok {
		return f
	}
	return v.Field
}

// invalidInput turns a *token.ValidationError into a one-line bad-input
// error naming the flags at fault.
func invalidInput(err error, src ruleSource, keyFlags map[string]string) error {
	var verr *token.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	parts := make([]string, len(verr.Violations), len(verr.Violations)+1)
	for i, v := range verr.Violations {
		parts[i] = src.flagOf(v, keyFlags) + ": " + v.Problem
	}
	if verr.More > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", verr.More))
	}
	return badInput("%s", strings.Join(parts, "; "))
}

// decodedView is a token's header and claims as the commands print them,
// with exp and nbf also as RFC 3339 times.
type decodedView struct {
	Header    json.RawMessage `json:"header"`
	Claims    json.RawMessage `json:"claims"`
	ExpiresAt string          `json:"expires_at,omitempty"`
	NotBefore string          `json:"not_before,omitempty"`
}

func viewOf(d *token.Decoded) decodedView {
	v := decodedView{Header: compact(d.RawHeader), Claims: compact(d.RawClaims)}
	if !d.Claims.ExpiresAt.IsZero() {
		v.ExpiresAt = utc(d.Claims.ExpiresAt)
	}
	if !d.Claims.NotBefore.IsZero() {
		v.NotBefore = utc(d.Claims.NotBefore)
	}
	return v
}

// tokenOutput is what create and sign print with --output json.
type tokenOutput struct {
	Token string `json:"token"`
	decodedView
	URLs *token.URLs `json:"urls,omitempty"`
}

// printToken prints a token as the flags ask: the token on its own line
// (then, with --customer-code, one line per signed URL), or JSON.
func (f *tokenFlags) printToken(w io.Writer, tok string) error {
	var urls *token.URLs
	if f.customerCode != "" {
		u, err := token.SignedURLs(f.customerCode, tok)
		if err != nil {
			return badInput("--customer-code: %v", err)
		}
		urls = &u
	}
	if f.output.json() {
		d, err := token.Decode(tok)
		if err != nil {
			return failure(fmt.Errorf("the token is malformed: %w", err))
		}
		out := tokenOutput{Token: tok, decodedView: viewOf(d), URLs: urls}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintln(w, tok)
	if urls != nil {
		for _, u := range []struct{ name, url string }{
			{"iframe", urls.Iframe}, {"watch", urls.Watch}, {"hls", urls.HLS},
			{"dash", urls.DASH}, {"thumbnail", urls.Thumbnail}, {"download", urls.Download},
		} {
			fmt.Fprintf(w, "%-10s %s\n", u.name, u.url)
		}
	}
	return nil
}
