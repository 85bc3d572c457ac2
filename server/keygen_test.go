package server_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Creates that arrive together at an account's cap are refused before any
// key is made for them: 40 at once with room for 10, each sent again while
// the answer is a 429 (one key is made at a time), make 10 keys.
func TestCreatesAtTheCapGenerateNothing(t *testing.T) {
	st := store.NewMemory(0)
	for _, k := range copies(t, account, store.MaxKeysPerAccount-10) {
		if err := st.AddKey(context.Background(), k, store.MaxKeysPerAccount); err != nil {
			t.Fatal(err)
		}
	}
	var generated atomic.Int64
	var mu sync.Mutex
	n := 0
	generate := func() (*token.Key, error) {
		generated.Add(1)
		mu.Lock()
		n++
		id := n
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // long enough for the others to arrive meanwhile
		return &token.Key{ID: "generated-" + string(rune('a'+id%26)) + string(rune('a'+id/26)), Private: userKey.Private, Public: userKey.Public}, nil
	}
	base, _ := start(t, server.Config{Store: st, GenerateKey: generate, MaxSigningWait: time.Minute})
	statuses := make(chan int, 40)
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			for {
				r := keyCall(t, http.MethodPost, base+keysPath, "")
				if r.Status != http.StatusTooManyRequests {
					statuses <- r.Status
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 10 || count[400] != 30 || generated.Load() != 10 {
		t.Errorf("40 creates with room for 10: statuses %v after %d generations; want 10 created, 30 refused, 10 generated", count, generated.Load())
	}
	if got := len(listKeys(t, base)); got != store.MaxKeysPerAccount {
		t.Errorf("%d keys, want %d", got, store.MaxKeysPerAccount)
	}
}

// A key's generation takes its turn among the signatures, one at a time:
// creates while one is made are answered 429 with Retry-After, and tokens
// that would wait past the bound behind it too.
func TestAFloodOfCreatesIsShed(t *testing.T) {
	keys(t)
	gen := testkey.Generator(t)
	hold := make(chan struct{})
	generate := func() (*token.Key, error) { <-hold; return gen() }
	base, _ := start(t, server.Config{GenerateKey: generate, SigningWorkers: 1, MaxSigningWait: 100 * time.Millisecond})
	results := make(chan response, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { results <- keyCall(t, http.MethodPost, base+keysPath, "") })
	}
	// Until the first generation ends, the others are turned away at once.
	var shed []response
	for len(shed) < 3 {
		if r := <-results; r.Status == http.StatusTooManyRequests {
			shed = append(shed, r)
		} else {
			t.Fatalf("a create while the worker generates: %d %s, want a 429", r.Status, r.Raw)
		}
	}
	close(hold)
	wg.Wait()
	close(results)
	for r := range results {
		if r.Status != 200 {
			t.Errorf("a create in line: %d %s, want 200", r.Status, r.Raw)
		}
	}
	for _, r := range shed {
		if r.Header.Get("Retry-After") == "" || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != 1015 {
			t.Errorf("a shed create: %s (Retry-After %q), want a 1015 envelope with Retry-After", r.Raw, r.Header.Get("Retry-After"))
		}
	}
	// Tokens wait behind generations too: while the one worker generates
	// a key, a token is answered 429.
	hold2, started := make(chan struct{}), make(chan struct{}, 1)
	gen2 := testkey.Generator(t)
	generate2 := func() (*token.Key, error) { started <- struct{}{}; <-hold2; return gen2() }
	base2, _ := start(t, server.Config{GenerateKey: generate2, SigningWorkers: 1, MaxSigningWait: 100 * time.Millisecond})
	created := make(chan response, 1)
	go func() { created <- keyCall(t, http.MethodPost, base2+keysPath, "") }()
	<-started
	if r := post(t, base2, `{}`); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("a token while the one worker generates a key: %d %s, want a 429 with Retry-After", r.Status, r.Raw)
	}
	close(hold2)
	if r := <-created; r.Status != 200 {
		t.Errorf("the create: %d %s", r.Status, r.Raw)
	}
}
