package token

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// FindingKind names what a [Finding] found.
type FindingKind string

// The kinds of finding.
const (
	// FindingRestrictsNothing: no rule blocks, so every viewer is allowed,
	// matched or not (no match means the token is valid).
	FindingRestrictsNothing FindingKind = "restricts-nothing"
	// FindingUnreachable: the rule comes after an any rule, which decides
	// every viewer first.
	FindingUnreachable FindingKind = "unreachable"
	// FindingOneIPFamily: an ip.src rule lists IPv4 addresses only, or
	// IPv6 only; a viewer on the other family matches none of them.
	FindingOneIPFamily FindingKind = "one-ip-family"
	// FindingRepeated: a country or range that an earlier entry, of the
	// same rule or an earlier one, already decides.
	FindingRepeated FindingKind = "repeated"
)

// A Finding is something a list of access rules does that its author
// likely did not mean. The rules are valid: a token still signs.
type Finding struct {
	// Rule is the position of the rule it is about, counted from 1.
	Rule    int         `json:"rule"`
	Kind    FindingKind `json:"kind"`
	Message string      `json:"message"`
}

// String is the finding as "rule N: message".
func (f Finding) String() string { return fmt.Sprintf("rule %d: %s", f.Rule, f.Message) }

// maxLintEntries bounds the addresses and countries Lint compares for
// repeats, each with those before it: a valid request body holds far
// fewer.
const maxLintEntries = 1024

// Lint reports what rules do that their author likely did not mean, in
// rule order: a list of allow rules alone, which restricts nothing (no
// match means the token is valid: end it with a block any rule); rules
// after an any rule, never reached; an ip.src rule of one address family
// (Cloudflare's advice: give both IPv4 and IPv6); a country or range an
// earlier entry already decides. An empty list says nothing: a token with
// no rules is meant to play anywhere. Entries that do not parse are left
// to validation ([Request.Validate]); of the repeats, the first 1,024
// entries are compared.
func Lint(rules []Rule) []Finding {
	var out []Finding
	if len(rules) == 0 {
		return nil
	}
	blocks := false
	anyAt := -1 // the first any rule
	for i, r := range rules {
		if r.Action == ActionBlock && (anyAt < 0 || i == anyAt) {
			blocks = true
		}
		if r.Type == RuleAny && anyAt < 0 {
			anyAt = i
		}
	}
	type seen struct {
		rule    int
		text    string
		prefix  netip.Prefix
		country string
	}
	var prefixes, countries []seen
	entries := 0
	for i, r := range rules {
		n := i + 1
		if anyAt >= 0 && i > anyAt {
			out = append(out, Finding{Rule: n, Kind: FindingUnreachable,
				Message: fmt.Sprintf("never reached: rule %d (%s any) decides every viewer first", anyAt+1, rules[anyAt].Action)})
			continue
		}
		switch r.Type {
		case RuleIPSrc:
			v4, v6 := false, false
			for _, s := range r.IP {
				pfx, ok := parsePrefix(s)
				if !ok {
					continue
				}
				if pfx.Addr().Is4() {
					v4 = true
				} else {
					v6 = true
				}
				if entries++; entries > maxLintEntries {
					continue
				}
				for _, e := range prefixes {
					if e.prefix.Bits() <= pfx.Bits() && e.prefix.Contains(pfx.Addr()) {
						out = append(out, Finding{Rule: n, Kind: FindingRepeated, Message: repeated(s, e.text, e.rule, n, e.prefix.Bits() == pfx.Bits())})
						break
					}
				}
				prefixes = append(prefixes, seen{rule: n, text: s, prefix: pfx})
			}
			switch {
			case v4 && !v6:
				out = append(out, Finding{Rule: n, Kind: FindingOneIPFamily,
					Message: "lists IPv4 addresses only: a viewer on IPv6 matches none of them; give the IPv6 ones too"})
			case v6 && !v4:
				out = append(out, Finding{Rule: n, Kind: FindingOneIPFamily,
					Message: "lists IPv6 addresses only: a viewer on IPv4 matches none of them; give the IPv4 ones too"})
			}
		case RuleCountry:
			for _, c := range r.Country {
				if entries++; entries > maxLintEntries {
					continue
				}
				for _, e := range countries {
					if strings.EqualFold(e.country, c) {
						out = append(out, Finding{Rule: n, Kind: FindingRepeated, Message: repeated(c, e.text, e.rule, n, true)})
						break
					}
				}
				countries = append(countries, seen{rule: n, text: c, country: c})
			}
		}
	}
	if !blocks {
		last := len(rules)
		if anyAt >= 0 {
			last = anyAt + 1
		}
		out = append(out, Finding{Rule: last, Kind: FindingRestrictsNothing,
			Message: "no rule blocks, and a viewer no rule matches is allowed: these rules restrict nothing; end them with a block any rule"})
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return a.Rule - b.Rule })
	return out
}

// repeated says that entry, of rule n, is decided by an earlier one.
func repeated(entry, earlier string, earlierRule, n int, same bool) string {
	where := fmt.Sprintf("rule %d", earlierRule)
	if earlierRule == n {
		where = "this rule"
	}
	if same {
		return fmt.Sprintf("%q is listed before, in %s: this entry decides nothing", entry, where)
	}
	return fmt.Sprintf("%q lies within %q, listed before in %s: this entry decides nothing", entry, earlier, where)
}
