package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamtoken/streamtoken/internal/pgtest"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/store/postgres"
	"github.com/streamtoken/streamtoken/store/storetest"
	"github.com/streamtoken/streamtoken/token"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newKEK() []byte {
	k := make([]byte, postgres.KeyEncryptionKeySize)
	rand.Read(k)
	return k
}

func open(t testing.TB, conn string, kek []byte) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{ConnString: conn, KeyEncryptionKey: kek, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	c := pgtest.New(t)
	storetest.TestStore(t, func(t *testing.T) (store.Store, storetest.OpenFunc) {
		conn, kek := c.ConnString(c.Database(t)), newKEK()
		cfg := postgres.Config{ConnString: conn, KeyEncryptionKey: kek, AccountMediaBytes: 1 << 20}
		st, err := postgres.Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, func() (store.Store, error) { return postgres.Open(context.Background(), cfg) }
	}, storetest.Options{SharedCaps: true, AccountMediaBytes: 1 << 20})
}

// The accounts' signing keys are sealed: the database holds no PEM, and
// a wrong key-encryption key is refused at start, never answered with
// new keys.
func TestKeysAtRest(t *testing.T) {
	c := pgtest.New(t)
	db := c.Database(t)
	kek := newKEK()
	s := open(t, c.URL(db), kek)
	ctx := context.Background()
	k := testkey.Load(t, "rsa2048-b.pem", "account-key")
	if _, err := s.EnsureAccountKey(ctx, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 10, func() (*token.Key, error) { return k, nil }); err != nil {
		t.Fatal(err)
	}
	created := testkey.Load(t, "rsa2048-c.pem", "created-key")
	if err := s.AddKey(ctx, store.Key{AccountID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Key: created, Created: time.Unix(1, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	webhookSecret := "whsec-8f14e45fceea167a5a36dedd4bea2543"
	if err := s.SetWebhook(ctx, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", store.Webhook{URL: "https://a.example/hook", Secret: webhookSecret, Modified: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	dump := dumpDatabase(t, c, db)
	if !bytes.Contains(dump, []byte("https://a.example/hook")) {
		t.Error("the dump holds no webhook: the test of its secret proves nothing")
	}
	pemBytes, _ := k.PrivatePEM()
	createdPEM, _ := created.PrivatePEM()
	for name, secret := range map[string][]byte{
		"the account key's PEM":              pemBytes,
		"the account key's private exponent": []byte(base64.RawURLEncoding.EncodeToString(k.Private.D.Bytes())),
		"the created key's PEM":              createdPEM,
		"the created key's private exponent": []byte(base64.RawURLEncoding.EncodeToString(created.Private.D.Bytes())),
		"the webhook's secret":               []byte(webhookSecret),
	} {
		if bytes.Contains(dump, secret[:min(64, len(secret))]) {
			t.Errorf("the database holds %s", name)
		}
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("store", "store", s)
	for _, printed := range []string{fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), logged.String()} {
		if strings.Contains(printed, "aead") || strings.Contains(printed, "PRIVATE") || len(printed) > 200 {
			t.Errorf("a printed Store shows what it holds: %.300s", printed)
		}
	}
	s.Close()
	_, err := postgres.Open(ctx, postgres.Config{ConnString: c.URL(db), KeyEncryptionKey: newKEK()})
	if !errors.Is(err, postgres.ErrKeyEncryptionKey) || !strings.Contains(err.Error(), "not the one") {
		t.Errorf("Open(another key-encryption key) = %v, want ErrKeyEncryptionKey", err)
	}
	for _, bad := range []string{"", "short", "not base64!", base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		if _, err := postgres.ParseKeyEncryptionKey([]byte(bad)); !errors.Is(err, postgres.ErrKeyEncryptionKey) {
			t.Errorf("ParseKeyEncryptionKey(%q) = %v, want ErrKeyEncryptionKey", bad, err)
		}
	}
	good := base64.StdEncoding.EncodeToString(kek) + "\n"
	if got, err := postgres.ParseKeyEncryptionKey([]byte(good)); err != nil || !bytes.Equal(got, kek) {
		t.Errorf("ParseKeyEncryptionKey(openssl's form) = %v", err)
	}
	cfg := postgres.Config{ConnString: "postgres://user:hunter2@db/x", KeyEncryptionKey: kek}
	for _, printed := range []string{cfg.String(), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", cfg)} {
		if strings.Contains(printed, "hunter2") || strings.Contains(printed, base64.StdEncoding.EncodeToString(kek)) {
			t.Errorf("a printed Config holds a secret: %s", printed)
		}
	}
	if _, err := postgres.Open(ctx, postgres.Config{ConnString: "postgres://user:hunter2@[bad", KeyEncryptionKey: kek}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open(a bad connection string) = %v, want an error without its password", err)
	}
}

// dumpDatabase returns every row of the store's tables, as text.
func dumpDatabase(t *testing.T, c *pgtest.Cluster, db string) []byte {
	t.Helper()
	conn := pgtest.Connect(t, c.ConnString(db))
	var out bytes.Buffer
	for _, table := range []string{"streamtoken_keys", "streamtoken_account_keys", "streamtoken_media", "streamtoken_settings", "streamtoken_webhooks"} {
		rows, err := conn.Query(context.Background(), "SELECT t::text FROM "+table+" t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			out.WriteString(row + "\n")
		}
		rows.Close()
	}
	return out.Bytes()
}

// The database stopped: what needs it is ErrUnavailable, the key sets read
// before are served as they were; started again: everything works, with
// no new store.
func TestOutage(t *testing.T) {
	c := pgtest.New(t)
	s := open(t, c.ConnString(c.Database(t)), newKEK())
	ctx := context.Background()
	const acct = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	k := testkey.Load(t, "rsa2048-b.pem", "before")
	if err := s.AddKey(ctx, store.Key{AccountID: acct, Key: k, Created: time.Unix(1, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	// A key list is kept only while the listener hears every change: the
	// read that is to be served later comes after it does.
	waitSynced(t, s)
	if keys, err := s.Keys(ctx, acct); err != nil || len(keys) != 1 {
		t.Fatalf("Keys() = %v, %v", keys, err)
	}
	// The listener may hear the store's own NOTIFY of the AddKey above
	// only now, after the read: the list it makes stale is still what was
	// true last, and is what an outage serves.
	postgres.Hear(s, acct)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			c.Start()
		}
	}()
	if keys, err := s.Keys(ctx, acct); err != nil || len(keys) != 1 {
		t.Errorf("Keys() with the database down = %v, %v; want the keys read before", keys, err)
	}
	if err := s.AddKey(ctx, store.Key{AccountID: acct, Key: testkey.Load(t, "rsa2048-c.pem", "during"), Created: time.Unix(2, 0)}, 10); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("AddKey() with the database down = %v, want ErrUnavailable", err)
	}
	if _, _, err := s.Media(ctx, store.Video, acct, "v"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Media() with the database down = %v, want ErrUnavailable", err)
	}
	if _, err := s.EnsureAccountKey(ctx, acct, 10, func() (*token.Key, error) { return testkey.Load(t, "rsa2048-d.pem", "x"), nil }); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("EnsureAccountKey() with the database down = %v, want ErrUnavailable", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.AddKey(ctx, store.Key{AccountID: acct, Key: testkey.Load(t, "rsa2048-c.pem", "after"), Created: time.Unix(3, 0)}, 10)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AddKey() after the database came back = %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if keys, err := s.Keys(ctx, acct); err != nil || len(keys) != 2 {
		t.Errorf("Keys() after the database came back = %v, %v; want 2", keys, err)
	}
}

// kekErrors are ParseKeyEncryptionKey's errors, lengths aside.
var (
	kekErrors = []string{
		"key-encryption key: N characters, want N (N bytes in baseN: openssl rand -baseN N)",
		"key-encryption key: not baseN (openssl rand -baseN N writes one)",
		"key-encryption key: N bytes, want N (openssl rand -baseN N)",
	}
	digits = regexp.MustCompile(`[0-9]+`)
)

// FuzzParseKeyEncryptionKey: any input is 32 bytes or an error that
// holds none of it.
func FuzzParseKeyEncryptionKey(f *testing.F) {
	f.Add([]byte(base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n"))
	f.Add([]byte("c2hvcnQ="))
	f.Add([]byte(" \t"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := postgres.ParseKeyEncryptionKey(data)
		switch {
		case err == nil && len(key) != postgres.KeyEncryptionKeySize:
			t.Fatalf("a key of %d bytes", len(key))
		case err != nil && !slices.Contains(kekErrors, digits.ReplaceAllString(err.Error(), "N")):
			t.Fatalf("an error of its own: %v (it must hold nothing of the input but lengths)", err)
		}
	})
}

// An account with no key of any kind costs no query once the listener
// hears every change: anyone may ask for any account's JWK set. The
// tables are renamed away to show it: a query would fail.
func TestAnUnknownAccountCostsNoQuery(t *testing.T) {
	c := pgtest.New(t)
	db := c.ConnString(c.Database(t))
	s := open(t, db, newKEK())
	ctx := context.Background()
	const known = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	if err := s.AddKey(ctx, store.Key{AccountID: known, Key: testkey.Load(t, "rsa2048-b.pem", "k"), Created: time.Unix(1, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	// The listener lists the accounts with keys once it connects: the
	// tables go only after it has.
	waitSynced(t, s)
	conn := pgtest.Connect(t, db)
	for _, q := range []string{"ALTER TABLE streamtoken_keys RENAME TO gone_keys", "ALTER TABLE streamtoken_account_keys RENAME TO gone_account_keys"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	keys, kerr := s.Keys(ctx, "ffffffffffffffffffffffffffffffff")
	k, aerr := s.AccountKey(ctx, "ffffffffffffffffffffffffffffffff")
	if kerr != nil || aerr != nil || keys != nil || k != nil {
		t.Fatalf("an unknown account, tables gone: Keys() = %v, %v; AccountKey() = %v, %v; want none, without a query", keys, kerr, k, aerr)
	}
	// A known account is still asked of the database, which fails here.
	if keys, err := s.Keys(ctx, known); err == nil {
		t.Errorf("a known account's keys, tables gone: %v, no error; want the database asked", keys)
	}
}

// waitSynced waits until s's listener hears every change (10 s at most).
func waitSynced(t *testing.T, s *postgres.Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !postgres.Synced(s); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listener did not connect in 10 s")
		}
	}
}

// exec runs statements on the database at conn, as an operator (or an
// older version) would.
func exec(t *testing.T, conn string, sqls ...string) {
	t.Helper()
	db, err := pgx.Connect(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	for _, sql := range sqls {
		if _, err := db.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// Media kept before they had a creation time (the epoch, in column and
// details) are given their last change's time by migration 3, so that a
// listing can page through more than a page of them.
func TestMigrationDatesTheUndatedMedia(t *testing.T) {
	c := pgtest.New(t)
	conn := c.ConnString(c.Database(t))
	kek := newKEK()
	s := open(t, conn, kek)
	ctx := context.Background()
	const acct = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	for i := range 3 {
		if _, err := s.EditMedia(ctx, store.Video, acct, fmt.Sprintf("v%d", i), 10, func([]byte, bool) ([]byte, error) {
			return []byte(`{"created":"1970-01-01T00:00:00Z","creator":"c"}`), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// As an older version left them: the epoch in the column, a change
	// time of their own; and the migration not yet applied.
	exec(t, conn, "UPDATE streamtoken_media SET created = 'epoch', modified = '2026-01-01T00:00:00Z'::timestamptz + substr(id, 2)::int * interval '1 second'",
		"ALTER TABLE streamtoken_media DROP COLUMN creator, DROP COLUMN name, DROP COLUMN name_fold, DROP COLUMN state, DROP COLUMN live_input, DROP COLUMN bytes",
		"DELETE FROM streamtoken_migrations WHERE version >= 3")
	s = open(t, conn, kek)
	p, err := s.ListMedia(ctx, store.Video, acct, store.MediaQuery{Asc: true})
	if err != nil || len(p.Media) != 3 {
		t.Fatalf("ListMedia() = %+v, %v", p, err)
	}
	for i, m := range p.Media {
		want := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
		if !m.Created.Equal(want) || !store.CreatedOf(m.Details).Equal(want) {
			t.Errorf("%s: created %s, details %s; want both %s", m.ID, m.Created, m.Details, want)
		}
	}
	// Migration 4 filled the filter columns of the rows kept before it.
	if p, err := s.ListMedia(ctx, store.Video, acct, store.MediaQuery{Filter: store.MediaFilter{Creator: new("c")}, Count: true}); err != nil || p.Total != 3 {
		t.Errorf("ListMedia(creator c) after migration 4 = %d media, %v; want 3", p.Total, err)
	}
}

// A schema from a newer version, or one changed by hand since it was
// migrated, is refused at start, not by the first request that needs it.
func TestOpenChecksTheSchema(t *testing.T) {
	c := pgtest.New(t)
	for _, tt := range []struct {
		name string
		sql  string
		want string
	}{
		{"from the future", "INSERT INTO streamtoken_migrations (version, applied) VALUES (99, now())", "schema is version 99, newer than this version of streamtoken knows"},
		{"a column dropped", "ALTER TABLE streamtoken_media DROP COLUMN created", `lacks what this version needs of streamtoken_media (kind, account_id, id, details, modified, created, creator, name, name_fold, state, live_input, bytes): column "created" does not exist`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn := c.ConnString(c.Database(t))
			kek := newKEK()
			open(t, conn, kek).Close()
			exec(t, conn, tt.sql)
			s, err := postgres.Open(context.Background(), postgres.Config{ConnString: conn, KeyEncryptionKey: kek, Timeout: 2 * time.Second})
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open() = %v, want %q", err, tt.want)
			}
		})
	}
}

// A search is served by a trigram index where pg_trgm is, as in Debian's
// PostgreSQL.
func TestSearchHasItsIndex(t *testing.T) {
	c := pgtest.New(t)
	conn := c.ConnString(c.Database(t))
	open(t, conn, newKEK())
	db, err := pgx.Connect(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM pg_indexes WHERE indexname = 'streamtoken_media_name_search'").Scan(&n); err != nil || n != 1 {
		t.Errorf("the search index: %d, %v; want it made (pg_trgm is in Debian's PostgreSQL)", n, err)
	}
}
