package token_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/token"
)

func TestLint(t *testing.T) {
	rule := func(s string) token.Rule {
		f := strings.Fields(s)
		r := token.Rule{Action: token.Action(f[0]), Type: token.RuleType(f[1])}
		if len(f) > 2 {
			values := strings.Split(f[2], ",")
			if r.Type == token.RuleCountry {
				r.Country = values
			} else {
				r.IP = values
			}
		}
		return r
	}
	tests := []struct {
		name  string
		rules []string
		want  []string // "rule N kind"
	}{
		{name: "none", rules: nil, want: nil},
		{name: "a country allowed, others blocked", rules: []string{"allow ip.geoip.country GB", "block any"}, want: nil},
		{name: "both families", rules: []string{"allow ip.src 93.184.216.0/24,2400:cb00::/32", "block any"}, want: nil},
		{name: "a block alone", rules: []string{"block ip.geoip.country US"}, want: nil},
		{name: "allow then block a country", rules: []string{"allow ip.src 10.0.0.1,::1", "block ip.geoip.country US"}, want: nil},
		{name: "allow alone", rules: []string{"allow ip.geoip.country GB"}, want: []string{"1 restricts-nothing"}},
		{name: "Cloudflare's public-content template", rules: []string{"allow ip.src 93.184.216.0/24"},
			want: []string{"1 one-ip-family", "1 restricts-nothing"}},
		{name: "allow any", rules: []string{"allow any"}, want: []string{"1 restricts-nothing"}},
		{name: "after an any rule", rules: []string{"block ip.geoip.country US", "allow any", "block ip.geoip.country MX", "block any"},
			want: []string{"3 unreachable", "4 unreachable"}},
		{name: "blocks only after an allow any", rules: []string{"allow ip.geoip.country GB", "allow any", "block any"},
			want: []string{"2 restricts-nothing", "3 unreachable"}},
		{name: "IPv6 only", rules: []string{"block ip.src 2400:cb00::/32"}, want: []string{"1 one-ip-family"}},
		{name: "a country twice in a rule", rules: []string{"block ip.geoip.country US,MX,us"}, want: []string{"1 repeated"}},
		{name: "a country in two rules", rules: []string{"block ip.geoip.country US", "allow ip.geoip.country US,GB", "block any"}, want: []string{"2 repeated"}},
		{name: "a range within an earlier one", rules: []string{"allow ip.src 10.0.0.0/8,::/0", "block ip.src 10.1.2.0/24,2001:db8::1", "block any"},
			want: []string{"2 repeated", "2 repeated"}},
		{name: "the same address twice", rules: []string{"allow ip.src 192.0.2.1,192.0.2.1/32,::1", "block any"}, want: []string{"1 repeated"}},
		{name: "a wider range after a narrower is no repeat", rules: []string{"allow ip.src 10.1.0.0/16,::1", "block ip.src 10.0.0.0/8,::2", "block any"}, want: nil},
		{name: "an IPv4-mapped address is IPv4", rules: []string{"allow ip.src ::ffff:192.0.2.1", "block any"}, want: []string{"1 one-ip-family"}},
		{name: "unparsable entries are validation's", rules: []string{"block ip.src not-an-ip"}, want: nil},
		{name: "an any rule first", rules: []string{"block any", "allow any"}, want: []string{"2 unreachable"}},
		{name: "allow any first, a block after it", rules: []string{"allow any", "block any"}, want: []string{"1 restricts-nothing", "2 unreachable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := make([]token.Rule, len(tt.rules))
			for i, s := range tt.rules {
				rules[i] = rule(s)
			}
			var got []string
			for _, f := range token.Lint(rules) {
				got = append(got, fmt.Sprintf("%d %s", f.Rule, f.Kind))
				if f.Message == "" || !strings.HasPrefix(f.String(), fmt.Sprintf("rule %d: ", f.Rule)) {
					t.Errorf("finding %+v: no message, or String %q", f, f.String())
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Lint(%q) = %v, want %v", tt.rules, got, tt.want)
			}
		})
	}
}

// What each finding says: the rules it names, counted from 1.
func TestLintMessages(t *testing.T) {
	ip := func(action token.Action, ips ...string) token.Rule {
		return token.Rule{Type: token.RuleIPSrc, Action: action, IP: ips}
	}
	country := func(action token.Action, cs ...string) token.Rule {
		return token.Rule{Type: token.RuleCountry, Action: action, Country: cs}
	}
	for _, tt := range []struct {
		rules []token.Rule
		want  string
	}{
		{[]token.Rule{ip(token.ActionBlock, "10.0.0.0/8", "::1"), {Type: token.RuleAny, Action: token.ActionBlock}, country(token.ActionBlock, "US")},
			`rule 3: never reached: rule 2 (block any) decides every viewer first`},
		{[]token.Rule{ip(token.ActionBlock, "10.0.0.0/8", "::1", "10.0.0.0/8")},
			`rule 1: "10.0.0.0/8" is listed before, in this rule: this entry decides nothing`},
		{[]token.Rule{ip(token.ActionBlock, "10.0.0.0/8", "::1"), ip(token.ActionBlock, "10.1.0.0/16", "::2")},
			`rule 2: "10.1.0.0/16" lies within "10.0.0.0/8", listed before in rule 1: this entry decides nothing`},
		{[]token.Rule{country(token.ActionBlock, "US"), country(token.ActionBlock, "GB", "us")},
			`rule 2: "us" is listed before, in rule 1: this entry decides nothing`},
		{[]token.Rule{ip(token.ActionBlock, "2400:cb00::/32")},
			`rule 1: lists IPv6 addresses only: a viewer on IPv4 matches none of them; give the IPv4 ones too`},
	} {
		found := token.Lint(tt.rules)
		if len(found) != 1 || found[0].String() != tt.want {
			t.Errorf("Lint(%v) = %v, want [%s]", tt.rules, found, tt.want)
		}
	}
}

// Lint compares at most 1,024 entries for repeats, whatever it is given:
// a repeat as the 1,024th entry is found, as the 1,025th it is not.
func TestLintBound(t *testing.T) {
	for _, tt := range []struct {
		typ     token.RuleType
		entries func(i int) string
	}{
		{token.RuleIPSrc, func(i int) string { return fmt.Sprintf("10.0.%d.%d", i>>8, i&255) }},
		{token.RuleCountry, func(i int) string { return fmt.Sprintf("C%04d", i) }},
	} {
		for _, n := range []int{1024, 1025} {
			values := make([]string, n)
			for i := range n - 1 {
				values[i] = tt.entries(i)
			}
			values[n-1] = values[0] // the repeat, last
			r := token.Rule{Type: tt.typ, Action: token.ActionBlock}
			if tt.typ == token.RuleIPSrc {
				r.IP = append(values, "::1") // both families: no other finding
			} else {
				r.Country = values
			}
			repeats := 0
			for _, f := range token.Lint([]token.Rule{r}) {
				if f.Kind == token.FindingRepeated {
					repeats++
				}
			}
			if want := map[int]int{1024: 1, 1025: 0}[n]; repeats != want {
				t.Errorf("%s, a repeat as entry %d: %d repeats found, want %d", tt.typ, n, repeats, want)
			}
		}
	}
}

// Lint compares at most 1,024 entries for repeats, whatever it is given.
func TestLintIsBounded(t *testing.T) {
	ips := make([]string, 100_000)
	for i := range ips {
		ips[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	ips[len(ips)-1] = "10.0.0.0" // a repeat past the bound: not compared
	findings := token.Lint([]token.Rule{{Type: token.RuleIPSrc, Action: token.ActionBlock, IP: ips}})
	if len(findings) != 1 || findings[0].Kind != token.FindingOneIPFamily {
		t.Errorf("Lint(100,000 addresses) = %v, want the family finding alone", findings)
	}
}

func ExampleLint() {
	// Cloudflare's signed-urls-public-content template: an allow rule and
	// no block, so that every viewer may play.
	rules := []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24"}}}
	for _, f := range token.Lint(rules) {
		fmt.Println(f)
	}
	// Output:
	// rule 1: lists IPv4 addresses only: a viewer on IPv6 matches none of them; give the IPv6 ones too
	// rule 1: no rule blocks, and a viewer no rule matches is allowed: these rules restrict nothing; end them with a block any rule
}
