package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Rules that restrict nothing are signed with a warning on stderr, refused
// with --strict, and shown by verify beside its decision.
func TestRuleFindings(t *testing.T) {
	sign := []string{"sign", "--key", keyFile, "--key-id", kid, "--video", video, "--rule", "allow ip.geoip.country GB"}
	r := cli(t, nil, "", sign...)
	tok := strings.TrimSpace(r.stdout)
	if r.code != 0 || strings.Count(tok, ".") != 2 {
		t.Fatalf("sign of an allow rule alone: %v; want a token", r)
	}
	const warning = "streamtoken: warning: rule 1: no rule blocks, and a viewer no rule matches is allowed: these rules restrict nothing; end them with a block any rule\n"
	if r.stderr != warning {
		t.Errorf("stderr = %q, want %q", r.stderr, warning)
	}
	r = cli(t, nil, "", append(sign, "--strict")...)
	if r.code != exitBadInput || r.stdout != "" || !strings.HasPrefix(r.stderr, warning) || !strings.HasSuffix(r.stderr, "streamtoken: --strict: the access rules have 1 finding(s), above\n") {
		t.Errorf("sign --strict: %v; want exit %d, no token, the warning then the refusal", r, exitBadInput)
	}
	// Rules that say what they mean: no word on stderr, --strict or not.
	r = cli(t, nil, "", "sign", "--key", keyFile, "--key-id", kid, "--video", video, "--rule", "allow ip.geoip.country GB", "--rule", "block any", "--strict")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("sign --strict of an allow and a block any: %v", r)
	}

	v := cli(t, nil, "", "verify", tok, "--key", keyFile, "--country", "US")
	if v.code != 0 || !strings.Contains(v.stdout, "finding:      rule 1: no rule blocks") {
		t.Errorf("verify: %v; want the finding beside the decision", v)
	}
	if v := cli(t, nil, "", "verify", tok, "--key", keyFile, "--strict"); v.code != exitBadInput || !strings.Contains(v.stdout, "finding:") || !strings.Contains(v.stderr, "--strict: the token's access rules have 1 finding(s)") {
		t.Errorf("verify --strict: %v; want the report, then exit %d naming --strict", v, exitBadInput)
	}
	v = cli(t, nil, "", "verify", tok, "--key", keyFile, "--output", "json")
	var report struct {
		Findings []struct {
			Rule int    `json:"rule"`
			Kind string `json:"kind"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(v.stdout), &report); err != nil || len(report.Findings) != 1 || report.Findings[0].Rule != 1 || report.Findings[0].Kind != "restricts-nothing" {
		t.Errorf("verify --output json: %s, %v; want one restricts-nothing finding", v.stdout, err)
	}
}
