package server

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// SharedSignerError is [New]'s refusal of a Config whose Signer would sign
// the tokens of two or more accounts that the credentials are scoped to
// (and that have no signer of their own): a token minted for one would
// verify against another's JWK set, for its videos.
type SharedSignerError struct {
	// Accounts are those the Signer would sign for, sorted.
	Accounts []string
}

func (e *SharedSignerError) Error() string {
	return fmt.Sprintf("Signer would sign the tokens of accounts %s, which the credentials keep apart: a token minted for one would verify for another's videos; give each its own signer (AccountSigners), or none (leave Signer nil: each account then gets a key generated on its first token), or set ShareSigner to accept that",
		strings.Join(e.Accounts, ", "))
}

// signers finds the signer of each account's tokens: the operator's key
// for the account, else the key shared by every account (when the
// operator gave one), else the key the server generated for the account,
// on its first token, and kept in its store.
type signers struct {
	shared   *token.Signer            // nil: every account has a key of its own
	operator map[string]*token.Signer // by account; fixed once New returns
	store    store.AccountKeys
	generate func() (*token.Key, error)
	// provision, when set, makes an account's key in generate's place
	// (Config.AccountKey), outside the queue.
	provision func(ctx context.Context, account string) (*token.Key, error)
	opts      []token.SignerOption // of the signers made here: the clock, the RSA
	max       int                  // accounts the store keeps a key for
	queue     *SigningQueue        // where a generation waits its turn

	mu      sync.Mutex
	loaded  map[string]*token.Signer // the store's keys, by account, once read
	pending map[string]*pendingKey   // generations under way, by account
}

// pendingKey is one account's key in the making: those asking for it
// meanwhile wait for done.
type pendingKey struct {
	done   chan struct{}
	signer *token.Signer
	err    error
	gaveUp bool // the caller making it left: another may try again
}

// forToken returns the signer of account's tokens, making the account's
// key first if it has none: an error matching store.ErrAccountLimit when the
// store is full.
func (s *signers) forToken(ctx context.Context, account string) (*token.Signer, error) {
	for {
		signer, err := s.find(ctx, account)
		if signer != nil || err != nil {
			return signer, err
		}
		s.mu.Lock()
		if signer := s.loaded[account]; signer != nil {
			s.mu.Unlock()
			return signer, nil
		}
		if p := s.pending[account]; p != nil {
			s.mu.Unlock()
			select {
			case <-p.done:
				if p.gaveUp {
					continue
				}
				return p.signer, p.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		p := &pendingKey{done: make(chan struct{})}
		s.pending[account] = p
		s.mu.Unlock()

		p.signer, p.err = s.make(ctx, account)
		p.gaveUp = p.err != nil && ctx.Err() != nil
		s.mu.Lock()
		delete(s.pending, account)
		if p.err == nil {
			s.keep(account, p.signer)
		}
		s.mu.Unlock()
		close(p.done)
		return p.signer, p.err
	}
}

// find returns the signer of account's tokens if it has one (the
// operator's, the shared one, or one of the store), or nil; it makes no
// key. The account's JWK set holds what it returns.
func (s *signers) find(ctx context.Context, account string) (*token.Signer, error) {
	if signer := s.operator[account]; signer != nil {
		return signer, nil
	}
	if s.shared != nil {
		return s.shared, nil
	}
	s.mu.Lock()
	signer := s.loaded[account]
	s.mu.Unlock()
	if signer != nil {
		return signer, nil
	}
	// Another server on the same store may have made the account's key.
	key, err := s.store.AccountKey(ctx, account)
	if err != nil || key == nil {
		return nil, err
	}
	if signer, err = token.NewSigner(key, s.opts...); err != nil {
		return nil, fmt.Errorf("the stored signing key of account %s: %w", account, err)
	}
	s.mu.Lock()
	s.keep(account, signer)
	s.mu.Unlock()
	return signer, nil
}

// reload reads the account's key from the store again and signs with it
// from now on when it is another than the one loaded (another server, or
// a gateway's sync, replaced it). It returns the ID of the key that signs
// the account's tokens, "" for none yet.
func (s *signers) reload(ctx context.Context, account string) (string, error) {
	if signer := s.operator[account]; signer != nil {
		return signer.KeyID(), nil
	}
	if s.shared != nil {
		return s.shared.KeyID(), nil
	}
	key, err := s.store.AccountKey(ctx, account)
	if err != nil || key == nil {
		return "", err
	}
	s.mu.Lock()
	cur := s.loaded[account]
	s.mu.Unlock()
	if cur != nil && cur.KeyID() == key.ID {
		return key.ID, nil
	}
	signer, err := token.NewSigner(key, s.opts...)
	if err != nil {
		return "", fmt.Errorf("the stored signing key of account %s: %w", account, err)
	}
	s.mu.Lock()
	if s.loaded[account] != nil {
		s.loaded[account] = signer
	} else {
		s.keep(account, signer)
	}
	s.mu.Unlock()
	return key.ID, nil
}

// keep remembers the signer of an account's stored key, up to as many
// accounts as the store keeps. s.mu is held.
func (s *signers) keep(account string, signer *token.Signer) {
	if s.loaded[account] == nil && len(s.loaded) < s.max {
		s.loaded[account] = signer
	}
}

// make has the store keep a new key for account (or hand back the one
// another server kept first), generating it in its turn in the queue.
func (s *signers) make(ctx context.Context, account string) (*token.Signer, error) {
	key, err := s.store.EnsureAccountKey(ctx, account, s.max, func() (*token.Key, error) {
		if s.provision != nil {
			return s.provision(ctx, account)
		}
		release, err := s.queue.AcquireKeyGeneration(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		return s.generate()
	})
	if err != nil {
		return nil, err
	}
	signer, err := token.NewSigner(key, s.opts...)
	if err != nil {
		return nil, fmt.Errorf("the signing key of account %s: %w", account, err)
	}
	return signer, nil
}

// accountLimit is the answer to a token for a new account when the server
// keeps keys for as many accounts as it may.
func accountLimit() Problem {
	return Problem{Status: http.StatusBadRequest, Code: apicode.AccountLimit,
		Message: "the server keeps signing keys for as many accounts as it may, and this account has none"}
}

// sharingAccounts are the accounts that credentials are scoped to and that
// have no signer of their own, sorted: those a shared signer would sign
// for while the credentials keep them apart.
func sharingAccounts(creds []Credential, own map[string]*token.Signer) []string {
	set := map[string]bool{}
	for _, c := range creds {
		for _, a := range c.Accounts {
			if own[a] == nil {
				set[a] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// checkKeyIDs refuses two keys of one ID among the signers and the keys
// store holds: a verifier picks a key by its ID, so one of the two would
// sign tokens that fail ("signature is invalid"). A key of the store that
// is also its account's signer (the same key, a file copied) is one key.
func checkKeyIDs(ctx context.Context, shared *token.Signer, operator map[string]*token.Signer, keys store.Keys) error {
	type owner struct {
		what, account string
		n             []byte
		stored        bool
	}
	owners := map[string]owner{}
	claim := func(kid string, o owner) error {
		prev, taken := owners[kid]
		switch {
		case !taken:
			owners[kid] = o
			return nil
		case o.stored && bytes.Equal(prev.n, o.n) && (prev.account == "" || prev.account == o.account):
			return nil // a created key that is its account's signer too, or the shared one
		}
		return fmt.Errorf("key ID %q names %s and %s: a key ID must name one key, in one account", kid, prev.what, o.what)
	}
	if shared != nil {
		if err := claim(shared.KeyID(), owner{what: "the key shared by every account", n: shared.PublicKey().Public.N.Bytes()}); err != nil {
			return err
		}
	}
	for _, account := range slices.Sorted(maps.Keys(operator)) {
		signer := operator[account]
		if err := claim(signer.KeyID(), owner{"the signing key of account " + account, account, signer.PublicKey().Public.N.Bytes(), false}); err != nil {
			return err
		}
	}
	stored, err := keys.AllKeys(ctx)
	if err != nil {
		return fmt.Errorf("reading the keys store: %w", err)
	}
	for _, k := range stored {
		if err := claim(k.Key.ID, owner{"a key created in account " + k.AccountID, k.AccountID, k.Key.Public.N.Bytes(), true}); err != nil {
			return err
		}
	}
	return nil
}
