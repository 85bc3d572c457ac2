package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// kid is the key ID a token's header names.
func kid(t *testing.T, up *streamtokentest.Server, tok string) string {
	t.Helper()
	claims, err := up.Verify(account, tok)
	if err != nil {
		t.Fatalf("a token does not verify against the upstream's JWK set: %v", err)
	}
	return claims.KeyID
}

// TestSyncReplacesAKeyDeletedAtTheUpstream: the account's signing key,
// deleted at the upstream by someone else, is replaced by a new one made
// there on the next sync, and new tokens verify against the upstream's
// set again.
func TestSyncReplacesAKeyDeletedAtTheUpstream(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.SyncInterval = -1 })
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	ctx := context.Background()
	token := func() string {
		t.Helper()
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Value
	}
	token() // the authorization
	first := kid(t, up, token())
	if err := g.Sync(ctx); err != nil {
		t.Fatalf("Sync() with the key in place = %v", err)
	}
	if got := kid(t, up, token()); got != first {
		t.Fatalf("a sync with the key in place changed it: %s, then %s", first, got)
	}
	// Deleted at the upstream, by another client.
	if err := up.NewClient().DeleteSigningKey(ctx, account, first); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Verify(account, token()); err == nil {
		t.Fatal("a token of the deleted key still verifies at the upstream: nothing to test")
	}
	if err := g.Sync(ctx); err != nil {
		t.Fatalf("Sync() = %v", err)
	}
	next := kid(t, up, token())
	if next == first {
		t.Fatalf("after a sync, tokens are still signed with the deleted key %s", first)
	}
	if got := operations(up); got["ListSigningKeys"] != 2 || got["CreateSigningKey"] != 2 {
		t.Errorf("the upstream saw %v; want two listings and two keys created", got)
	}
	m := get(t, g.at("/metrics"))
	if !strings.Contains(string(m.body), `streamtoken_gateway_account_keys_replaced_total{cause="deleted_upstream"} 1`) {
		t.Error("/metrics does not count the key replaced")
	}
}

// TestSyncWithinTheInterval: served, the gateway syncs by itself; a key
// deleted at the upstream is replaced within the interval.
func TestSyncWithinTheInterval(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	const every = 200 * time.Millisecond
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.SyncInterval = every })
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	ctx := context.Background()
	var first string
	for range 2 {
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		first = kid(t, up, tok.Value)
	}
	if err := up.NewClient().DeleteSigningKey(ctx, account, first); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	for {
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if claims, err := up.Verify(account, tok.Value); err == nil && claims.KeyID != first {
			t.Logf("a key deleted at the upstream replaced after %v (interval %v)", time.Since(deleted).Round(time.Millisecond), every)
			break
		}
		// The bound allows for a key made under -race on a busy machine;
		// the log line above says how soon it came.
		if time.Since(deleted) > 50*every {
			t.Fatalf("the deleted key not replaced within %v", 50*every)
		}
		time.Sleep(every / 20)
	}
}

// TestTwoGatewaysOnOneStoreSyncAnAccountOnce: of two gateways sharing a
// store, one lists an account's keys at the upstream per interval (the
// lease), and both sign with the key that replaced a deleted one.
func TestTwoGatewaysOnOneStoreSyncAnAccountOnce(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	gws := twoGateways(t, up, clk, nil)
	ctx := context.Background()
	var kids []string
	for _, g := range gws {
		c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
		for range 2 {
			tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			kids = append(kids, kid(t, up, tok.Value))
		}
	}
	if kids[1] != kids[3] {
		t.Fatalf("two gateways on one store sign with %s and %s; want one key", kids[1], kids[3])
	}
	if err := up.NewClient().DeleteSigningKey(ctx, account, kids[1]); err != nil {
		t.Fatal(err)
	}
	for _, g := range gws {
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := operations(up); got["ListSigningKeys"] != 1 {
		t.Errorf("two gateways synced in one interval: the upstream saw %d listings; want 1", got["ListSigningKeys"])
	}
	// The replica that did not sync loads the new key on its next pass.
	clk.add(gateway.DefaultSyncInterval)
	for _, g := range gws {
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := kid(t, up, tok.Value); got == kids[1] {
			t.Errorf("a gateway still signs with the deleted key %s", got)
		}
	}
	if got := operations(up); got["ListSigningKeys"] != 2 || got["CreateSigningKey"] != 2 {
		t.Errorf("the upstream saw %v; want one listing per interval and one key made in place of the deleted one", got)
	}
}

// TestALockoutStopsTheGatewaysOwnRequests: a 429 with Retry-After: 300,
// to the key's creation, stops the gateway's own requests on that
// credential for 300 s (first tokens are its 503s, with the wait; the sync
// skips), and passes nothing on in a retry; after it, the key is made.
func TestALockoutStopsTheGatewaysOwnRequests(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.SyncInterval = -1; c.Server.Now = clk.Now; c.AuthTTL = time.Hour })
	auth := "Bearer " + up.APIToken
	if r := postToken(t, g.url, auth); r.status != 200 { // the authorization
		t.Fatalf("the first token: %d %s", r.status, r.body)
	}
	f := streamtokentest.RateLimited(300 * time.Second)
	f.Operation = "CreateSigningKey"
	up.FailNext(1, f)
	r := postToken(t, g.url, auth)
	if r.status != 503 || r.code() != 1020 {
		t.Fatalf("the key's creation rate-limited: %d %s; want the gateway's 503", r.status, r.body)
	}
	clk.add(299 * time.Second)
	r = postToken(t, g.url, auth)
	if r.status != 503 || r.header.Get("Retry-After") != "1" {
		t.Errorf("a second before the lockout lifts: %d, Retry-After %q; want a 503 with the lockout's rest, 1", r.status, r.header.Get("Retry-After"))
	}
	if err := g.Sync(context.Background()); err != nil {
		t.Errorf("Sync() within the lockout = %v", err)
	}
	if got := operations(up); got["CreateSigningKey"] != 1 || got["ListSigningKeys"] != 0 {
		t.Errorf("within the lockout the upstream saw %v; want the one creation that was refused, nothing more", got)
	}
	clk.add(time.Second)
	if r := postToken(t, g.url, auth); r.status != 200 {
		t.Errorf("after the lockout: %d %s; want a token", r.status, r.body)
	}
	if got := operations(up); got["CreateSigningKey"] != 2 {
		t.Errorf("after the lockout the upstream saw %v; want the key made", got)
	}
}

// TestAForwarded429LocksTheCredentialOut: a 429 to a request the gateway
// forwarded is passed through as it came, and locks the credential out of
// the gateway's own requests as well.
func TestAForwarded429LocksTheCredentialOut(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.SyncInterval = -1; c.Server.Now = clk.Now })
	auth := "Bearer " + up.APIToken
	if r := postToken(t, g.url, auth); r.status != 200 {
		t.Fatalf("the first token: %d", r.status)
	}
	f := streamtokentest.RateLimited(120 * time.Second)
	f.Operation = "ListVideos"
	up.FailNext(1, f)
	req := request(t, "GET", g.url+"/accounts/"+account+"/stream", up.APIToken, "")
	a := do(t, req)
	if a.status != 429 || a.header.Get("Retry-After") != "120" {
		t.Fatalf("a forwarded 429: %d, Retry-After %q; want it as it came", a.status, a.header.Get("Retry-After"))
	}
	clk.add(119 * time.Second)
	if r := postToken(t, g.url, auth); r.status != 503 {
		t.Errorf("a first key within the lockout: %d; want the gateway's 503, nothing sent", r.status)
	}
	if got := operations(up); got["CreateSigningKey"] != 0 {
		t.Errorf("within the lockout the upstream saw %v; want no key asked for", got)
	}
	clk.add(time.Second)
	if r := postToken(t, g.url, auth); r.status != 200 || operations(up)["CreateSigningKey"] != 1 {
		t.Errorf("at the end of the Retry-After (120 s, not the default 300): %d; want the key made and a token", r.status)
	}
}

// TestSyncForgetsARevokedCredential: a credential the upstream refuses to
// a sync's listing is not used again; Sync says so.
func TestSyncForgetsARevokedCredential(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.SyncInterval = -1 })
	for range 2 {
		if r := postToken(t, g.url, "Bearer "+up.APIToken); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	up.FailNext(1, streamtokentest.Failure{Operation: "ListSigningKeys", Status: http.StatusUnauthorized, Code: apicode.Authentication, Message: "Authentication error"})
	if err := g.Sync(context.Background()); err == nil {
		t.Error("Sync() with the credential refused = nil; want the refusal")
	}
	if err := g.Sync(context.Background()); err != nil {
		t.Errorf("Sync() with no credential left = %v; want nothing to do", err)
	}
	if got := operations(up); got["ListSigningKeys"] != 1 {
		t.Errorf("the upstream saw %d listings; want 1: the refused credential is not used again", got["ListSigningKeys"])
	}
}

// TestRotation: a key older than RotateAfter is replaced at the next
// sync; the old one keeps verifying (in the gateway's set and at the
// upstream) until the last token it signed has expired, then is deleted
// at the upstream.
func TestRotation(t *testing.T) {
	clk := &clock{now: time.Now().Truncate(time.Second)}
	up := streamtokentest.NewServer(streamtokentest.WithClock(clk.Now))
	defer up.Close()
	g := startGateway(t, up.URL, func(c *gateway.Config) {
		c.SyncInterval = -1
		c.RotateAfter = 48 * time.Hour
		c.AuthTTL = 100 * time.Hour
		c.Server.Now = clk.Now
	})
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken), streamtoken.WithClock(clk.Now))
	ctx := context.Background()
	sign := func(exp time.Duration) string {
		t.Helper()
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{ExpiresAt: clk.Now().Add(exp)})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Value
	}
	sign(time.Hour) // the authorization
	oldKID := kid(t, up, sign(time.Hour))
	clk.add(47 * time.Hour)
	old := sign(24 * time.Hour) // the old key's last token: it expires 23 h after the rotation
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kid(t, up, old); got != oldKID {
		t.Fatalf("before RotateAfter, tokens are signed with %s; want %s still", got, oldKID)
	}
	clk.add(time.Hour)
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	rotated := clk.Now()
	newKID := kid(t, up, sign(time.Hour))
	if newKID == oldKID {
		t.Fatal("at RotateAfter, tokens are still signed with the old key")
	}
	inSet := func(id string) bool {
		keys, err := g.Server().PublicKeys(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.ID == id {
				return true
			}
		}
		return false
	}
	// The last token of the old key expires 23 h after the rotation; the
	// old key stays until 24 h 5 min after it.
	for _, step := range []time.Duration{time.Hour, 21*time.Hour + 59*time.Minute} {
		clk.add(step)
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := up.Verify(account, old); err != nil {
			t.Errorf("%v after the rotation, the old key's last token does not verify at the upstream: %v", clk.Now().Sub(rotated), err)
		}
		if !inSet(oldKID) || !inSet(newKID) {
			t.Errorf("%v after the rotation, the gateway's set lacks the old or the new key", clk.Now().Sub(rotated))
		}
	}
	clk.add(rotated.Add(token.RetireAfter - time.Second).Sub(clk.Now()))
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !inSet(oldKID) {
		t.Error("a second before its time, the old key left the gateway's set")
	}
	clk.add(time.Second)
	if err := g.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if inSet(oldKID) {
		t.Error("24 h 5 min after the rotation, the old key is still in the gateway's set")
	}
	listed, err := up.NewClient().ListSigningKeys(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != newKID {
		t.Errorf("the upstream lists %v; want the new key alone", listed)
	}
	m := get(t, g.at("/metrics"))
	if !strings.Contains(string(m.body), `streamtoken_gateway_account_keys_replaced_total{cause="rotated"} 1`) {
		t.Error("/metrics does not count the rotation")
	}
	if got := operations(up); got["CreateSigningKey"] != 2 || got["DeleteSigningKey"] != 1 {
		t.Errorf("the upstream saw %v; want two keys made and one deleted", got)
	}
}

// TestTwoGatewaysShareOneBudget: two gateways on one store, with a budget
// of 20 requests of their own per minute, make at most 20 in a minute
// between them: 30 accounts' first keys, asked of both at once, are made
// as the budget allows, the rest a 503 until it refills.
func TestTwoGatewaysShareOneBudget(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	gws := twoGateways(t, up, clk, func(c *gateway.Config) { c.Budget, c.BudgetSpan = 20, time.Minute })
	auth := "Bearer " + up.APIToken
	accounts := make([]string, 30)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%032x", i+1)
		if r := postTokenFor(t, gws[i%2].url, accounts[i], auth); r.status != http.StatusOK { // the authorization
			t.Fatalf("account %d's first token: %d", i, r.status)
		}
	}
	keyed := map[string]bool{}
	round := func() {
		t.Helper()
		for i, a := range accounts {
			if keyed[a] {
				continue
			}
			switch r := postTokenFor(t, gws[i%2].url, a, auth); {
			case r.status == http.StatusOK:
				keyed[a] = true
			case r.status != http.StatusServiceUnavailable || r.code() != apicode.UpstreamUnavailable || r.header.Get("Retry-After") == "":
				t.Errorf("account %d, over the budget: %d %s; want the gateway's 503 with Retry-After", i, r.status, r.body)
			}
		}
	}
	round()
	if made := operations(up)["CreateSigningKey"]; made != 10 {
		t.Errorf("at once, the two gateways made %d keys; want 10, half the budget", made)
	}
	clk.add(30 * time.Second)
	round()
	clk.add(30 * time.Second)
	round()
	made := operations(up)["CreateSigningKey"]
	if made != 20 {
		t.Errorf("in a minute, the two gateways made %d keys between them; want 20, the budget", made)
	}
	t.Logf("a budget of 20 a minute, two gateways, 30 accounts: %d keys made in the first minute", made)
}

// TestTwoGatewaysRotateOnce: two gateways on one store rotate an account's
// key once between them, and both sign with the new key.
func TestTwoGatewaysRotateOnce(t *testing.T) {
	clk := &clock{now: time.Now().Truncate(time.Second)}
	up := streamtokentest.NewServer(streamtokentest.WithClock(clk.Now))
	defer up.Close()
	gws := twoGateways(t, up, clk, func(c *gateway.Config) { c.RotateAfter, c.AuthTTL = time.Hour, 100*time.Hour })
	ctx := context.Background()
	kidOn := func(g *gw) string {
		t.Helper()
		tok, err := client(t, g.url, streamtoken.WithAPIToken(up.APIToken), streamtoken.WithClock(clk.Now)).CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return kid(t, up, tok.Value)
	}
	for _, g := range gws {
		kidOn(g) // the authorization
	}
	first := kidOn(gws[0])
	clk.add(time.Hour)
	for _, g := range gws {
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clk.add(gateway.DefaultSyncInterval)
	for _, g := range gws {
		if err := g.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, b := kidOn(gws[0]), kidOn(gws[1])
	if a == first || a != b {
		t.Errorf("after a rotation the gateways sign with %s and %s (the first key %s); want one new key", a, b, first)
	}
	if made := operations(up)["CreateSigningKey"]; made != 2 {
		t.Errorf("the upstream made %d keys; want 2: the first and one rotation between the two gateways", made)
	}
}

// TestALockoutIsSharedByReplicas: a 429 one gateway met holds off the
// other, on the same store, as well.
func TestALockoutIsSharedByReplicas(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	gws := twoGateways(t, up, clk, func(c *gateway.Config) { c.AuthTTL = time.Hour })
	auth := "Bearer " + up.APIToken
	for _, g := range gws {
		if r := postTokenFor(t, g.url, other, auth); r.status != 200 { // the authorization
			t.Fatal(r.status)
		}
	}
	f := streamtokentest.RateLimited(300 * time.Second)
	f.Operation = "CreateSigningKey"
	up.FailNext(1, f)
	if r := postTokenFor(t, gws[0].url, other, auth); r.status != 503 {
		t.Fatalf("the key's creation rate-limited: %d", r.status)
	}
	if r := postTokenFor(t, gws[1].url, other, auth); r.status != 503 {
		t.Errorf("the other gateway, within the lockout: %d; want a 503, nothing sent", r.status)
	}
	if got := operations(up)["CreateSigningKey"]; got != 1 {
		t.Errorf("within the lockout the upstream saw %d creations; want the one refused", got)
	}
	clk.add(300 * time.Second)
	if r := postTokenFor(t, gws[1].url, other, auth); r.status != 200 {
		t.Errorf("the other gateway after the lockout: %d; want a token", r.status)
	}
}

// TestASigningKeyDeletedThroughTheGatewayIsReplacedAtOnce: the account's
// signing key deleted through the gateway is replaced without waiting
// for a sync.
func TestASigningKeyDeletedThroughTheGatewayIsReplacedAtOnce(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.SyncInterval = -1 })
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	ctx := context.Background()
	var first string
	for range 2 {
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		first = kid(t, up, tok.Value)
	}
	if err := c.DeleteSigningKey(ctx, account, first); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if claims, err := up.Verify(account, tok.Value); err == nil && claims.KeyID != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the signing key deleted through the gateway was not replaced without a sync")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := operations(up); got["ListSigningKeys"] != 0 || got["CreateSigningKey"] != 2 {
		t.Errorf("the upstream saw %v; want the key made again, with no listing", got)
	}
}

// twoGateways are two gateways in front of up on one Memory store, on
// clk, their syncs run by the test (Sync), with more of their settings.
func twoGateways(t *testing.T, up *streamtokentest.Server, clk *clock, more func(*gateway.Config)) []*gw {
	t.Helper()
	st := store.NewMemory(0)
	edit := func(c *gateway.Config) {
		c.SyncInterval = -1
		c.Server.Store, c.Server.Now = st, clk.Now
		if more != nil {
			more(c)
		}
	}
	return []*gw{startGateway(t, up.URL, edit), startGateway(t, up.URL, edit)}
}
