package gateway

import (
	"net/http"
	"testing"
	"time"
)

func TestCredentialOf(t *testing.T) {
	for _, tt := range []struct {
		name   string
		header map[string]string
		want   credential
		ok     bool
	}{
		{"a bearer token", map[string]string{"Authorization": "Bearer  tok "}, credential{bearer: "tok"}, true},
		{"bearer in any case", map[string]string{"Authorization": "bearer tok"}, credential{bearer: "tok"}, true},
		{"an email and key", map[string]string{"X-Auth-Email": "a@example.com", "X-Auth-Key": "k"}, credential{email: "a@example.com", key: "k"}, true},
		{"both", map[string]string{"Authorization": "Bearer tok", "X-Auth-Email": "a@example.com", "X-Auth-Key": "k"}, credential{bearer: "tok", email: "a@example.com", key: "k"}, true},
		{"an email alone", map[string]string{"X-Auth-Email": "a@example.com"}, credential{}, false},
		{"a key alone", map[string]string{"X-Auth-Key": "k"}, credential{}, false},
		{"basic", map[string]string{"Authorization": "Basic dTpw"}, credential{}, false},
		{"an empty bearer", map[string]string{"Authorization": "Bearer "}, credential{}, false},
		{"none", nil, credential{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got, ok := credentialOf(h)
			if got != tt.want || ok != tt.ok {
				t.Errorf("credentialOf() = %#v (%q %q %q), %v; want %q %q %q, %v", got, got.bearer, got.email, got.key, ok, tt.want.bearer, tt.want.email, tt.want.key, tt.ok)
			}
		})
	}
}

func TestCredentialSetReplacesTheCallers(t *testing.T) {
	h := http.Header{"Authorization": {"Bearer caller"}, "X-Auth-Email": {"caller@example.com"}, "X-Auth-Key": {"caller-key"}}
	credential{bearer: "deployment"}.set(h)
	if h.Get("Authorization") != "Bearer deployment" || h.Get("X-Auth-Email") != "" || h.Get("X-Auth-Key") != "" {
		t.Errorf("a bearer set: %v", h)
	}
	credential{email: "ops@example.com", key: "global"}.set(h)
	if h.Get("Authorization") != "" || h.Get("X-Auth-Email") != "ops@example.com" || h.Get("X-Auth-Key") != "global" {
		t.Errorf("an email and key set: %v", h)
	}
}

func TestDecisionsStayWithinTheirBound(t *testing.T) {
	d := newDecisions(3)
	now := time.Now()
	pair := func(s string) pairKey { return d.pair(credential{bearer: s}, "a") }
	once, again := pair("x"), pair("x")
	if once != again || pair("x") == pair("y") ||
		d.pair(credential{bearer: "x"}, "a") == d.pair(credential{bearer: "x"}, "b") || d.pair(credential{email: "x", key: "k"}, "a") == d.pair(credential{email: "xk"}, "a") {
		t.Fatal("pair keys do not tell credentials and accounts apart")
	}
	d.put(pair("old"), decision{accepted: true, at: now.Add(-time.Hour)}, now, time.Minute, time.Second)
	d.put(pair("refused"), decision{at: now}, now, time.Minute, time.Second)
	d.put(pair("new"), decision{accepted: true, at: now}, now, time.Minute, time.Second)
	d.put(pair("newer"), decision{accepted: true, at: now}, now, time.Minute, time.Second)
	if _, ok := d.get(pair("old")); ok {
		t.Error("a full set kept an expired acceptance over a new one")
	}
	for _, p := range []string{"refused", "new", "newer"} {
		if _, ok := d.get(pair(p)); !ok {
			t.Errorf("%s: dropped while an expired one could go", p)
		}
	}
	d.put(pair("newest"), decision{accepted: true, at: now}, now, time.Minute, time.Second)
	d.put(pair("new"), decision{accepted: true, at: now}, now, time.Minute, time.Second) // already kept: nothing goes
	n := 0
	for _, p := range []string{"refused", "new", "newer", "newest"} {
		if _, ok := d.get(pair(p)); ok {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d decisions kept; want the bound, 3", n)
	}
}
