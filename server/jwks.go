package server

import (
	"strconv"
	"strings"
	"sync"

	"github.com/streamtoken/streamtoken/token"
)

// jwksCache keeps the last JWK set encoded: the set changes when a key is
// created or deleted, and is fetched far more often, so it is encoded once
// per change rather than once per fetch.
type jwksCache struct {
	mu   sync.Mutex
	id   string // the set's identity: each key's ID and its modulus's lowest word
	body []byte
}

// encode returns keys as a JWK set, reusing the last encoding when the set
// is the same.
func (c *jwksCache) encode(keys []*token.Key) []byte {
	var id strings.Builder
	for _, k := range keys {
		id.WriteString(k.ID)
		id.WriteByte(':')
		if words := k.Public.N.Bits(); len(words) > 0 {
			id.WriteString(strconv.FormatUint(uint64(words[0]), 16)) // the modulus's lowest word
		}
		id.WriteByte(',')
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body == nil || c.id != id.String() {
		c.id, c.body = id.String(), token.JWKS(keys...)
	}
	return c.body
}
