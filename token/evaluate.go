package token

import (
	"fmt"
	"net/netip"
)

// Viewer is who asks to watch: the address the request comes from and the
// country Cloudflare places it in (ISO 3166-1 alpha-2; empty if unknown).
type Viewer struct {
	IP      netip.Addr
	Country string
}

// Decision is what a token's access rules decide for a viewer.
type Decision struct {
	// Allowed is whether the viewer may watch.
	Allowed bool
	// RuleIndex is the index in the access rules (counted from 0) of the
	// rule that decided, or -1 when none matched and the viewer is allowed.
	RuleIndex int
	// Rules is how many access rules there were.
	Rules int
}

// String says "allowed" or "blocked" and by which rule, counted from 1 as
// people count: "blocked by rule 3 (of 5)", or "allowed: no rule matched
// (of 2)".
func (d Decision) String() string {
	verdict := "allowed"
	if !d.Allowed {
		verdict = "blocked"
	}
	if d.RuleIndex < 0 {
		return fmt.Sprintf("%s: no rule matched (of %d)", verdict, d.Rules)
	}
	return fmt.Sprintf("%s by rule %d (of %d)", verdict, d.RuleIndex+1, d.Rules)
}

// Policy is a list of access rules made ready for evaluation: addresses
// parsed once, so that [Policy.Evaluate] neither parses nor allocates. It is
// safe for concurrent use. The zero Policy has no rules, and so allows every
// viewer, as a token without access rules does.
type Policy struct {
	rules []compiledRule
}

type compiledRule struct {
	typ       RuleType
	allow     bool
	prefixes  []netip.Prefix
	countries []string
}

// NewPolicy checks rules as the API does (see [Rule]) and prepares them.
func NewPolicy(rules []Rule) (*Policy, error) {
	var p problems
	checkRules(&p, rules)
	if err := p.err(); err != nil {
		return nil, err
	}
	policy := &Policy{rules: make([]compiledRule, len(rules))}
	for i, r := range rules {
		c := compiledRule{typ: r.Type, allow: r.Action == ActionAllow, countries: r.Country}
		for _, s := range r.IP {
			pfx, _ := parsePrefix(s) // checked above
			c.prefixes = append(c.prefixes, pfx)
		}
		policy.rules[i] = c
	}
	return policy, nil
}

// Evaluate applies the rules to a viewer: the first rule that matches
// decides; a viewer no rule matches is allowed. An any rule matches every
// viewer; an ip.src rule a viewer whose address is in one of its addresses
// or CIDRs (an IPv4-mapped IPv6 address counts as the IPv4 address); an
// ip.geoip.country rule a viewer in one of its countries (compared without
// regard to case). A viewer with no address or no country matches no rule of
// that type.
func (p *Policy) Evaluate(v Viewer) Decision {
	ip := v.IP.Unmap()
	for i := range p.rules {
		r := &p.rules[i]
		if r.matches(ip, v.Country) {
			return Decision{Allowed: r.allow, RuleIndex: i, Rules: len(p.rules)}
		}
	}
	return Decision{Allowed: true, RuleIndex: -1, Rules: len(p.rules)}
}

func (r *compiledRule) matches(ip netip.Addr, country string) bool {
	switch r.typ {
	case RuleAny:
		return true
	case RuleIPSrc:
		if !ip.IsValid() {
			return false
		}
		for _, pfx := range r.prefixes {
			if pfx.Contains(ip) {
				return true
			}
		}
	case RuleCountry:
		if len(country) != 2 {
			return false
		}
		for _, c := range r.countries {
			if equalFold2(c, country) {
				return true
			}
		}
	}
	return false
}

// equalFold2 compares two ASCII country codes without regard to case.
func equalFold2(a, b string) bool {
	return len(a) == 2 && upper(a[0]) == upper(b[0]) && upper(a[1]) == upper(b[1])
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// Evaluate applies a token's access rules to a viewer; see
// [Policy.Evaluate]. For many viewers of one token, build a [Policy] once.
func (c *Claims) Evaluate(v Viewer) (Decision, error) {
	p, err := NewPolicy(c.AccessRules)
	if err != nil {
		return Decision{}, err
	}
	return p.Evaluate(v), nil
}
