package gateway_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/internal/pgtest"
	"github.com/streamtoken/streamtoken/store/postgres"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestTwoGatewaysOnPostgreSQL: two gateways, each on its own connection
// to one PostgreSQL database, with a fake clock: one listing of an
// account's keys per interval between them (the lease), one key made per
// rotation, and one budget of their own requests (20 a minute: 30
// accounts' first keys asked of both, 10 made at once, 20 in the minute).
func TestTwoGatewaysOnPostgreSQL(t *testing.T) {
	c := pgtest.New(t)
	conn := c.ConnString(c.Database(t))
	kek := make([]byte, postgres.KeyEncryptionKeySize)
	rand.Read(kek)
	clk := &clock{now: time.Now().Truncate(time.Second)}
	up := streamtokentest.NewServer(streamtokentest.WithClock(clk.Now))
	defer up.Close()
	var gws []*gw
	for range 2 {
		st, err := postgres.Open(context.Background(), postgres.Config{ConnString: conn, KeyEncryptionKey: kek, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		gws = append(gws, startGateway(t, up.URL, func(c *gateway.Config) {
			c.SyncInterval, c.RotateAfter, c.AuthTTL = -1, time.Hour, 100*time.Hour
			c.Budget, c.BudgetSpan = 20, time.Minute
			c.Server.Store, c.Server.Now = st, clk.Now
		}))
	}
	ctx := context.Background()
	auth := "Bearer " + up.APIToken
	for _, g := range gws {
		for range 2 { // the authorization, then the account's key
			if r := postToken(t, g.url, auth); r.status != http.StatusOK {
				t.Fatalf("a token: %d %s", r.status, r.body)
			}
		}
	}
	syncAll := func() {
		t.Helper()
		for _, g := range gws {
			if err := g.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	syncAll()
	if got := operations(up); got["ListSigningKeys"] != 1 || got["CreateSigningKey"] != 1 {
		t.Errorf("two gateways on one database, one interval: the upstream saw %v; want one listing, one key", got)
	}
	clk.add(time.Hour)
	syncAll()
	clk.add(gateway.DefaultSyncInterval)
	syncAll()
	if got := operations(up); got["ListSigningKeys"] != 3 || got["CreateSigningKey"] != 2 {
		t.Errorf("a rotation on two gateways: the upstream saw %v; want one listing per interval (3) and one key made by the rotation", got)
	}
	var kids []string
	for _, g := range gws {
		tok, err := client(t, g.url, streamtoken.WithAPIToken(up.APIToken), streamtoken.WithClock(clk.Now)).CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, kid(t, up, tok.Value))
	}
	if kids[0] != kids[1] {
		t.Errorf("after the rotation the gateways sign with %s and %s; want one key", kids[0], kids[1])
	}
	// The budget: the rotation's requests spent 3 (two listings and a key)
	// of the first minute's 10 at once; a minute on, 30 accounts' first
	// keys asked of both at once.
	clk.add(time.Minute)
	before := operations(up)["CreateSigningKey"]
	made := 0
	for i := range 30 {
		a := fmt.Sprintf("%032x", i+100)
		g := gws[i%2]
		if r := postTokenFor(t, g.url, a, auth); r.status != http.StatusOK {
			t.Fatalf("account %d's authorization: %d", i, r.status)
		}
		if r := postTokenFor(t, g.url, a, auth); r.status == http.StatusOK {
			made++
		}
	}
	if got := operations(up)["CreateSigningKey"] - before; got != made || made != 10 {
		t.Errorf("30 first keys on two gateways with a budget of 20 a minute: %d made (%d tokens); want 10 at once, half the budget", got, made)
	}
}
