package token_test

import (
	"net/netip"
	"testing"

	"github.com/streamtoken/streamtoken/token"
)

func TestEvaluate(t *testing.T) {
	blockUSMX := token.Rule{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}}
	allowRanges := token.Rule{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32", "198.51.100.7"}}
	blockAll := token.Rule{Type: token.RuleAny, Action: token.ActionBlock}
	allowAll := token.Rule{Type: token.RuleAny, Action: token.ActionAllow}
	blockV4Mapped := token.Rule{Type: token.RuleIPSrc, Action: token.ActionBlock, IP: []string{"::ffff:10.0.0.0/104"}}
	blockSlash0 := token.Rule{Type: token.RuleIPSrc, Action: token.ActionBlock, IP: []string{"0.0.0.0/0"}}
	official := []token.Rule{blockUSMX, allowRanges, blockAll}

	tests := []struct {
		name      string
		rules     []token.Rule
		ip        string
		country   string
		wantAllow bool
		wantRule  int
	}{
		{name: "no rules", rules: nil, ip: "1.2.3.4", country: "US", wantAllow: true, wantRule: -1},
		{name: "blocked country first", rules: official, ip: "93.184.216.34", country: "US", wantAllow: false, wantRule: 0},
		{name: "second country", rules: official, ip: "8.8.8.8", country: "MX", wantAllow: false, wantRule: 0},
		{name: "country case-insensitive", rules: official, ip: "8.8.8.8", country: "mx", wantAllow: false, wantRule: 0},
		{name: "allowed v4 range", rules: official, ip: "93.184.216.34", country: "GB", wantAllow: true, wantRule: 1},
		{name: "v4 range first address", rules: official, ip: "93.184.216.0", country: "GB", wantAllow: true, wantRule: 1},
		{name: "v4 range last address", rules: official, ip: "93.184.216.255", country: "GB", wantAllow: true, wantRule: 1},
		{name: "just below v4 range", rules: official, ip: "93.184.215.255", country: "GB", wantAllow: false, wantRule: 2},
		{name: "just above v4 range", rules: official, ip: "93.184.217.0", country: "GB", wantAllow: false, wantRule: 2},
		{name: "single v4 address", rules: official, ip: "198.51.100.7", country: "DE", wantAllow: true, wantRule: 1},
		{name: "next to single v4 address", rules: official, ip: "198.51.100.8", country: "DE", wantAllow: false, wantRule: 2},
		{name: "v6 range", rules: official, ip: "2400:cb00:2048::1", country: "JP", wantAllow: true, wantRule: 1},
		{name: "v6 range last address", rules: official, ip: "2400:cb00:ffff:ffff:ffff:ffff:ffff:ffff", country: "JP", wantAllow: true, wantRule: 1},
		{name: "outside v6 range", rules: official, ip: "2400:cb01::1", country: "JP", wantAllow: false, wantRule: 2},
		{name: "v4-mapped v6 viewer in v4 range", rules: official, ip: "::ffff:93.184.216.34", country: "FR", wantAllow: true, wantRule: 1},
		{name: "v4-mapped rule, v4 viewer", rules: []token.Rule{blockV4Mapped}, ip: "10.1.2.3", wantAllow: false, wantRule: 0},
		{name: "v4-mapped rule, mapped viewer", rules: []token.Rule{blockV4Mapped}, ip: "::ffff:10.1.2.3", wantAllow: false, wantRule: 0},
		{name: "v4-mapped rule, v4 outside", rules: []token.Rule{blockV4Mapped}, ip: "11.0.0.1", wantAllow: true, wantRule: -1},
		{name: "v4 /0 does not match v6", rules: []token.Rule{blockSlash0}, ip: "2001:db8::1", wantAllow: true, wantRule: -1},
		{name: "v4 /0 matches any v4", rules: []token.Rule{blockSlash0}, ip: "255.255.255.255", wantAllow: false, wantRule: 0},
		{name: "no match allows", rules: []token.Rule{blockUSMX}, ip: "1.1.1.1", country: "CA", wantAllow: true, wantRule: -1},
		{name: "first match wins over later any", rules: []token.Rule{allowAll, blockAll}, ip: "1.1.1.1", wantAllow: true, wantRule: 0},
		{name: "unknown country skips country rules", rules: official, ip: "93.184.216.1", country: "", wantAllow: true, wantRule: 1},
		{name: "no address skips ip rules", rules: official, ip: "", country: "GB", wantAllow: false, wantRule: 2},
		{name: "any matches a viewer with nothing known", rules: []token.Rule{blockAll}, ip: "", wantAllow: false, wantRule: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			p, err := token.NewPolicy(tt.rules)
			if err != nil {
				t.Fatalf("NewPolicy() error = %v", err)
			}
			got := p.Evaluate(token.Viewer{IP: ip, Country: tt.country})
			if got.Allowed != tt.wantAllow || got.RuleIndex != tt.wantRule {
				t.Errorf("Evaluate(%s, %q) = %v, want allowed=%v rule=%d", tt.ip, tt.country, got, tt.wantAllow, tt.wantRule)
			}
		})
	}
}

func TestNewPolicyRefusesBadRules(t *testing.T) {
	if _, err := token.NewPolicy([]token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"not-an-ip"}}}); err == nil {
		t.Error("NewPolicy(bad ip) error = nil, want one")
	}
}
