package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// DefaultSyncInterval is how often the gateway re-lists, at the upstream,
// the keys of the accounts it signs for: a signing key deleted there is
// replaced within it.
const DefaultSyncInterval = time.Minute

// syncState is what the sync keeps: a credential the upstream accepted
// for each account (in memory alone, never written anywhere), the leases
// that let one replica sync an account at a time, and who this replica is
// to them.
type syncState struct {
	every  time.Duration // 0: off
	leases store.Leases
	holder string

	mu    sync.Mutex
	creds map[string]credential // by account: the last the upstream accepted
}

// maxSyncedAccounts bounds the accounts whose credential the sync keeps.
const maxSyncedAccounts = store.DefaultMaxAccounts

func newSyncState(every time.Duration, st store.KeyStore) *syncState {
	s := &syncState{every: every, creds: map[string]credential{}}
	if every < 0 {
		s.every = 0
	}
	if l, ok := st.(store.Leases); ok {
		s.leases = l
	} else {
		s.leases = store.LocalLeases()
	}
	id := make([]byte, 8)
	rand.Read(id)
	s.holder = hex.EncodeToString(id)
	return s
}

// accepted remembers that the upstream accepted cred for account.
func (s *syncState) accepted(account string, cred credential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.creds[account]; ok || len(s.creds) < maxSyncedAccounts {
		s.creds[account] = cred
	}
}

// refused forgets cred for account, when it is the one kept.
func (s *syncState) refused(account string, cred credential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.creds[account] == cred {
		delete(s.creds, account)
	}
}

// syncLoop syncs every interval until ctx ends.
func (g *Gateway) syncLoop(ctx context.Context) {
	if g.sync.every == 0 {
		return
	}
	t := time.NewTicker(g.sync.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.Sync(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("sync: the next interval tries again", "error", err.Error())
			}
		}
	}
}

// Sync makes one pass of the sync, as [Gateway.Serve] does every
// Config.SyncInterval: for each account the gateway signs for and holds
// an upstream credential for (the deployment's, or the last one the
// upstream accepted for it), it loads the account's key as the store has
// it now (another replica may have replaced it) and, where it holds the
// account's lease for the interval (one replica at a time, across those
// sharing a store), lists the account's keys at the upstream: a signing
// key no longer there (deleted by anyone) is replaced by a new one
// created there. It returns the first error met; the other accounts are
// synced still.
func (g *Gateway) Sync(ctx context.Context) error {
	var first error
	for account, cred := range g.syncCredentials() {
		if err := g.syncAccount(ctx, account, cred); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// syncCredentials are the accounts to sync, each with its credential.
func (g *Gateway) syncCredentials() map[string]credential {
	if g.deployment != nil {
		return g.deployment
	}
	g.sync.mu.Lock()
	defer g.sync.mu.Unlock()
	return maps.Clone(g.sync.creds)
}

// syncAccount syncs one account (see Sync).
func (g *Gateway) syncAccount(ctx context.Context, account string, cred credential) error {
	id, err := g.core.ReloadAccountKey(ctx, account)
	if err != nil || id == "" {
		return err // no key yet: nothing to keep true
	}
	every := cmpOr(g.sync.every, DefaultSyncInterval)
	now := g.now()
	if held, err := g.sync.leases.Lease(ctx, "streamtoken/sync/"+account, g.sync.holder, now, now.Add(every)); err != nil || !held {
		return err // another replica syncs it this interval
	}
	c, err := g.client(cred)
	if err != nil {
		return err
	}
	if _, locked := g.lockedOut(ctx, cred); locked {
		g.metrics.upstream.WithLabelValues("sync", "locked_out").Inc()
		return nil // the next interval, or the one after the lockout
	}
	if !g.spend(ctx, cred, "sync") {
		return nil // the next interval
	}
	listCtx, cancel := context.WithTimeout(ctx, g.keyWait)
	keys, err := c.ListSigningKeys(listCtx, account)
	cancel()
	var apiErr *streamtoken.APIError
	switch {
	case errors.As(err, &apiErr):
		g.reached()
		g.metrics.upstream.WithLabelValues("sync", strconv.Itoa(apiErr.StatusCode)).Inc()
		switch apiErr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			g.sync.refused(account, cred) // revoked: another accepted one will do
		case http.StatusTooManyRequests:
			g.lockOut(cred, lockoutOf(apiErr))
		}
		return err
	case err != nil:
		g.down()
		g.metrics.upstream.WithLabelValues("sync", "error").Inc()
		return err
	}
	g.reached()
	g.metrics.upstream.WithLabelValues("sync", "200").Inc()
	if err := g.dropRetired(ctx, c, account, cred); err != nil {
		return err
	}
	if at := slices.IndexFunc(keys, func(k streamtoken.SigningKeyInfo) bool { return k.ID == id }); at >= 0 {
		g.metrics.keyAge.WithLabelValues(account).Set(g.now().Sub(keys[at].Created).Seconds())
		if g.rotateAfter > 0 && !g.operator[account] && !g.now().Before(keys[at].Created.Add(g.rotateAfter)) {
			return g.replace(ctx, c, account, id, cred, true)
		}
		return nil
	}
	if g.operator[account] {
		g.log.Warn("the operator's signing key of the account is not at the upstream: its tokens do not play there; give a key of the upstream's (--account-key)", "account", account, "key_id", id)
		return nil
	}
	// Deleted at the upstream: its tokens no longer play. A new key, made
	// there, takes its place.
	return g.replace(ctx, c, account, id, cred, false)
}

// replace puts a key made at the upstream in the place of the account's
// key of ID id: one deleted there, or (rotate) one past its time, which
// then stays in the account's JWK set, and at the upstream, until every
// token it signed has expired (token.RetireAfter).
func (g *Gateway) replace(ctx context.Context, c *streamtoken.Client, account, id string, cred credential, rotate bool) error {
	var old *token.Key
	if rotate {
		var err error
		if old, err = g.store.AccountKey(ctx, account); err != nil || old == nil || old.ID != id {
			return err // replaced meanwhile: nothing to rotate
		}
	}
	k, err := g.createKeyWith(ctx, account, cred)
	if err != nil {
		return err
	}
	if rotate {
		retired := store.Key{AccountID: account, Key: &token.Key{ID: old.ID, Public: old.Public}, Created: g.now().UTC(), Retired: g.now().Add(token.RetireAfter).UTC()}
		if err := g.store.AddKey(ctx, retired, store.MaxKeysPerAccount); err != nil && !errors.Is(err, store.ErrKeyExists) {
			g.deleteMade(ctx, c, account, k.ID)
			return err
		}
	}
	if err := g.store.ReplaceAccountKey(ctx, account, id, k); err != nil {
		// Replaced by another meanwhile: the key made here is not needed.
		g.deleteMade(ctx, c, account, k.ID)
		return err
	}
	if _, err := g.core.ReloadAccountKey(ctx, account); err != nil {
		return err
	}
	if rotate {
		g.metrics.keysReplaced.WithLabelValues("rotated").Inc()
		g.log.Info("the account's signing key rotated: the new one signs from now on, the old stays in the account's key set until its tokens have expired", "account", account,
			"old_key_id", id, "key_id", k.ID, "old_deleted_after", g.now().Add(token.RetireAfter).UTC().Format(time.RFC3339))
		return nil
	}
	g.metrics.keysReplaced.WithLabelValues("deleted_upstream").Inc()
	g.log.Warn("the account's signing key was deleted at the upstream: replaced by a new one made there", "account", account, "old_key_id", id, "key_id", k.ID)
	return nil
}

// deleteMade deletes at the upstream a key the gateway made but could not
// use.
func (g *Gateway) deleteMade(ctx context.Context, c *streamtoken.Client, account, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.keyWait)
	defer cancel()
	if err := c.DeleteSigningKey(ctx, account, id); err != nil {
		g.log.Warn("a key made at the upstream that was not needed could not be deleted there", "account", account, "key_id", id)
	}
}

// dropRetired deletes, at the upstream and then here, the account's
// rotated-out keys whose tokens have all expired.
func (g *Gateway) dropRetired(ctx context.Context, c *streamtoken.Client, account string, cred credential) error {
	kept, err := g.store.Keys(ctx, account)
	if err != nil {
		return err
	}
	now := g.now()
	for _, k := range kept {
		if k.Retired.IsZero() || now.Before(k.Retired) {
			continue
		}
		if !g.spend(ctx, cred, "delete_retired") {
			return nil // the next interval
		}
		delCtx, cancel := context.WithTimeout(ctx, g.keyWait)
		err := c.DeleteSigningKey(delCtx, account, k.Key.ID)
		cancel()
		var apiErr *streamtoken.APIError
		if err != nil && !(errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound) {
			g.metrics.upstream.WithLabelValues("delete_retired", "error").Inc()
			return err
		}
		g.metrics.upstream.WithLabelValues("delete_retired", "200").Inc()
		if err := g.store.DeleteKey(ctx, account, k.Key.ID); err != nil && !errors.Is(err, store.ErrNoSuchKey) {
			return err
		}
		g.log.Info("a rotated-out key deleted, its tokens all expired", "account", account, "key_id", k.Key.ID)
	}
	return nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
