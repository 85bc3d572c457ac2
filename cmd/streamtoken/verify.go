package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/token"
)

// The exit codes of verify beyond the common ones.
const (
	exitInvalid = 3 // bad signature, malformed, wrong algorithm, unknown key
	exitTime    = 4 // expired, or not valid yet
	exitBlocked = 5 // valid, but the access rules block the viewer
)

type verifyFlags struct {
	key, keyID, jwks string
	account, base    string
	ip, country, at  string
	leeway           time.Duration
	output           output
	strict           bool // a finding of the token's rules exits 2
}

func newVerifyCmd(e env) *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify TOKEN (--key FILE | --jwks FILE|URL | --account ID --base-url URL) [--ip IP] [--country CC] [--at TIME]",
		Short: "Check a token's signature, times and access rules",
		Long: `Check a token: its signature (RS256 only) against --key or a key of --jwks,
its exp and nbf at --at (default now), and what its access rules decide for
the viewer given by --ip and --country.

TOKEN may be - to read it from standard input (a token too long for an
argument, or one kept out of the process list).

--key takes any key form sign takes (a private key serves for its public
half) or a public key (PEM or JWK). --jwks takes a JWK set from a file or a
URL: https, or http to a loopback address only; a redirect to another host
or scheme is refused; at most 1 MiB and 2,000 keys, public keys only.
--account with --base-url takes the account's JWK set from a streamtoken
token server, at the same base URL the other commands take: a verifier of
an account's videos checks its tokens against that account's set alone,
which holds no other account's key, so a token minted for another account
is invalid (exit 3).

Exit codes: 0 valid and allowed; 3 invalid (bad signature, malformed, wrong
algorithm, unknown key); 4 expired or not valid yet; 5 valid but blocked by
an access rule; 1 the JWK set could not be fetched; 2 bad input.`,
		Example: `  streamtoken verify "$TOKEN" --key key.pem --ip 93.184.216.34 --country GB
  streamtoken verify "$TOKEN" --account 023e105f4ecef8ad9ca31a8372d0c353 --base-url http://127.0.0.1:8787/client/v4
  streamtoken verify "$TOKEN" --jwks http://127.0.0.1:8787/.well-known/jwks/023e105f4ecef8ad9ca31a8372d0c353.json
  streamtoken verify "$TOKEN" --key public.pem --at 2026-11-28T15:00:00Z`,
		Args: exactArgs(1, "TOKEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := tokenArg(e, args[0])
			if err != nil {
				return err
			}
			return verify(cmd.Context(), cmd.OutOrStdout(), f, tok)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "a key `FILE`: private or public, PEM or JWK, or the API's base64 forms")
	fl.StringVar(&f.keyID, "key-id", "", "the `ID` of --key, if it carries none (default: the token's kid)")
	fl.StringVar(&f.jwks, "jwks", "", "a JWK set, from a `FILE` or an http(s) URL")
	fl.StringVar(&f.account, "account", "", "the account `ID` whose JWK set to take from the token server at --base-url")
	fl.StringVar(&f.base, "base-url", "", "the token server's API base `URL` (ending in /client/v4), with --account")
	fl.StringVar(&f.ip, "ip", "", "the viewer's IP address (IPv4, IPv6 or IPv4-mapped IPv6)")
	fl.StringVar(&f.country, "country", "", "the viewer's country (ISO 3166-1 alpha-2)")
	fl.StringVar(&f.at, "at", "", "check the times at `TIME`: RFC 3339, unix seconds, or a duration from now (default now)")
	fl.DurationVar(&f.leeway, "leeway", token.DefaultLeeway, "clock skew to forgive on exp and nbf")
	fl.BoolVar(&f.strict, "strict", false, "exit 2 when the token's access rules do what they likely do not mean (its findings), whatever the decision")
	outputFlag(fl, &f.output, "text or json")
	return cmd
}

// verifyReport is what verify prints.
type verifyReport struct {
	Valid        bool         `json:"valid"`
	Allowed      bool         `json:"allowed"`
	Reason       string       `json:"reason,omitempty"`
	KeyID        string       `json:"kid,omitempty"`
	VideoID      string       `json:"sub,omitempty"`
	ExpiresAt    string       `json:"expires_at,omitempty"`
	NotBefore    string       `json:"not_before,omitempty"`
	Downloadable bool         `json:"downloadable"`
	CheckedAt    string       `json:"checked_at"`
	ViewerIP     string       `json:"viewer_ip,omitempty"`
	Country      string       `json:"viewer_country,omitempty"`
	Rule         *int         `json:"rule,omitempty"` // the deciding rule, counted from 1 as in the text
	RuleText     string       `json:"rule_text,omitempty"`
	Rules        []token.Rule `json:"access_rules,omitempty"`
	// Findings are what the rules do that their author likely did not
	// mean (token.Lint).
	Findings []token.Finding `json:"findings,omitempty"`
}

func verify(ctx context.Context, out io.Writer, f verifyFlags, tok string) error {
	now := time.Now()
	at := now
	if f.at != "" {
		var err error
		if at, err = timeValue("at", f.at, now); err != nil {
			return err
		}
	}
	var viewer token.Viewer
	if f.ip != "" {
		addr, err := netip.ParseAddr(f.ip)
		if err != nil || addr.Zone() != "" {
			return badInput("--ip %q: not an IPv4 or IPv6 address", f.ip)
		}
		viewer.IP = addr
	}
	if f.country != "" {
		if !token.IsCountry(strings.ToUpper(f.country)) {
			return badInput("--country %q: not an assigned ISO 3166-1 alpha-2 code", f.country)
		}
		viewer.Country = strings.ToUpper(f.country)
	}
	keys, err := verifyKeys(ctx, f, tok)
	if err != nil {
		return err
	}
	v, err := token.NewVerifier(keys, token.WithClock(func() time.Time { return at }), token.WithLeeway(f.leeway))
	if err != nil {
		return badInput("%v", err)
	}
	r := verifyReport{CheckedAt: utc(at), ViewerIP: f.ip, Country: viewer.Country}
	claims, err := v.Verify(tok)
	if d, derr := token.Decode(tok); derr == nil {
		r.KeyID, _ = d.Header["kid"].(string)
		r.VideoID, r.Downloadable, r.Rules = d.Claims.VideoID, d.Claims.Downloadable, d.Claims.AccessRules
		r.Findings = token.Lint(d.Claims.AccessRules)
		if !d.Claims.ExpiresAt.IsZero() {
			r.ExpiresAt = utc(d.Claims.ExpiresAt)
		}
		if !d.Claims.NotBefore.IsZero() {
			r.NotBefore = utc(d.Claims.NotBefore)
		}
	}
	var outcome error
	switch {
	case errors.Is(err, token.ErrExpired), errors.Is(err, token.ErrNotYetValid):
		r.Reason = err.Error()
		outcome = &exitError{code: exitTime, err: err}
	case err != nil:
		r.Reason = err.Error()
		outcome = &exitError{code: exitInvalid, err: err}
	default:
		r.Valid = true
		decision, perr := claims.Evaluate(viewer)
		if perr != nil {
			r.Valid, r.Reason = false, "access rules: "+perr.Error()
			outcome = &exitError{code: exitInvalid, err: errors.New(r.Reason)}
			break
		}
		r.Allowed = decision.Allowed
		r.Reason = decision.String()
		if decision.RuleIndex >= 0 {
			n := decision.RuleIndex + 1 // as people count, as in the text
			r.Rule, r.RuleText = &n, ruleText(claims.AccessRules[decision.RuleIndex])
		}
		if !decision.Allowed {
			outcome = &exitError{code: exitBlocked, err: fmt.Errorf("viewer %s", decision)}
		}
	}
	if f.strict && outcome == nil && len(r.Findings) > 0 {
		outcome = badInput("--strict: the token's access rules have %d finding(s)", len(r.Findings))
	}
	if f.output.json() {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return failure(err)
		}
		return outcome
	}
	printReport(out, r)
	return outcome
}

func printReport(out io.Writer, r verifyReport) {
	line := func(k, v string) { fmt.Fprintf(out, "%-13s %s\n", k+":", v) }
	switch {
	case r.Valid:
		line("token", "valid (RS256, kid "+r.KeyID+")")
	default:
		line("token", "NOT VALID: "+r.Reason)
	}
	if r.VideoID != "" {
		line("video", r.VideoID)
	}
	if r.ExpiresAt != "" {
		line("expires", r.ExpiresAt)
	}
	if r.NotBefore != "" {
		line("not before", r.NotBefore)
	}
	line("checked at", r.CheckedAt)
	line("downloadable", fmt.Sprint(r.Downloadable))
	if !r.Valid {
		return
	}
	viewer := "ip " + orUnknown(r.ViewerIP) + ", country " + orUnknown(r.Country)
	line("viewer", viewer)
	verdict := r.Reason
	if r.RuleText != "" {
		verdict += " (" + r.RuleText + ")"
	}
	line("access", verdict)
	for _, f := range r.Findings {
		line("finding", f.String())
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func ruleText(r token.Rule) string {
	s := string(r.Action) + " " + string(r.Type)
	if len(r.IP) > 0 {
		s += " " + strings.Join(r.IP, ",")
	}
	if len(r.Country) > 0 {
		s += " " + strings.Join(r.Country, ",")
	}
	return s
}

// verifyKeys loads the keys --key, --jwks or --account name.
func verifyKeys(ctx context.Context, f verifyFlags, tok string) ([]*token.Key, error) {
	given := 0
	for _, v := range []string{f.key, f.jwks, f.account} {
		if v != "" {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, badInput("--key, --jwks and --account: give one of them")
	case f.base != "" && f.account == "":
		return nil, badInput("--base-url: needs --account (the account whose JWK set to take)")
	case f.account != "" && f.base == "":
		return nil, badInput("--account: needs --base-url, the token server's (Cloudflare's API publishes no JWK set: use --key)")
	case f.account != "":
		u, err := streamtoken.KeySetURL(f.base, f.account)
		var verr *token.ValidationError
		switch {
		case errors.As(err, &verr):
			return nil, badInput("--account %q: %s", f.account, verr.Violations[0].Problem)
		case err != nil:
			return nil, badInput("--base-url: %v", trimPrefix(err))
		}
		f.jwks = u
	}
	switch {
	case f.key != "":
		data, err := files.Read(f.key)
		if err != nil {
			return nil, badInput("--key: %v", err)
		}
		key, err := token.ParseKey(data)
		if err != nil {
			return nil, badInput("--key %s: %v", f.key, err)
		}
		if f.keyID != "" {
			key.ID = f.keyID
		}
		if key.ID == "" {
			// One key, no ID of its own: it is meant for this token.
			if d, err := token.Decode(tok); err == nil {
				key.ID, _ = d.Header["kid"].(string)
			}
			if key.ID == "" {
				key.ID = "-"
			}
		}
		return []*token.Key{key}, nil
	case strings.HasPrefix(f.jwks, "http://"), strings.HasPrefix(f.jwks, "https://"):
		set, err := streamtoken.NewKeySet(f.jwks)
		if err != nil {
			return nil, badInput("--jwks: %v", trimPrefix(err))
		}
		keys, err := set.Keys(ctx)
		if err != nil {
			return nil, failure(fmt.Errorf("%s: %v", keySetFlag(f), trimPrefix(err)))
		}
		return keys, nil
	case f.jwks != "":
		data, err := files.Read(f.jwks)
		if err != nil {
			return nil, badInput("--jwks: %v", err)
		}
		keys, err := token.ParseJWKS(data)
		if err != nil {
			return nil, badInput("--jwks %s: %v", f.jwks, err)
		}
		return keys, nil
	}
	return nil, badInput("--key, --jwks or --account: one is required")
}

// keySetFlag names the flag a fetched JWK set came from.
func keySetFlag(f verifyFlags) string {
	if f.account != "" {
		return "--account " + f.account
	}
	return "--jwks"
}
