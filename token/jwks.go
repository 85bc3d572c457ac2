package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// JWK set errors, usable with errors.Is. ParseJWKS wraps ErrJWKSet in every
// error about the set itself, and ErrJWKSetPrivate too when the set
// publishes private keys; a key too large or too small also matches
// ErrKeyTooLong or ErrKeyTooShort.
var (
	// ErrJWKSet means the bytes are not a JWK set this package verifies
	// with: malformed, too many keys, a key without a kid, a kid twice.
	ErrJWKSet = errors.New("invalid JWK set")
	// ErrJWKSetPrivate means a member of the set carries private parts
	// (d, p, q, dp, dq, qi, oth): whoever serves it has published its
	// private keys, and nothing it signs can be trusted.
	ErrJWKSetPrivate = errors.New("it publishes private keys")
)

// DefaultJWKSMaxAge is how long a JWK set is used, or cached, before it is
// fetched again, unless configured otherwise: the bound on how long a
// deleted key keeps verifying. A token server sends it as its sets'
// Cache-Control max-age, and streamtoken.KeySet uses a set no longer.
const DefaultJWKSMaxAge = time.Minute

// MaxJWKSKeys is the most keys [ParseJWKS] reads from one set: an
// account's set holds its signing key and at most the 1,000 keys it may
// create, and a set of 2048-bit keys this size stays under 1 MiB.
const MaxJWKSKeys = 2000

// JWKS returns the public halves of keys as a JWK set (RFC 7517, section 5),
// as a token server serves an account's set.
func JWKS(keys ...*Key) []byte {
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: make([]json.RawMessage, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.PublicJWK())
	}
	b, _ := json.Marshal(set)
	return b
}

// jwkMember is a member of a JWK set as ParseJWKS reads it: the public
// numbers as strings, the private parts only as present or not.
type jwkMember struct {
	Kty string          `json:"kty"`
	Kid string          `json:"kid"`
	N   string          `json:"n"`
	E   string          `json:"e"`
	D   json.RawMessage `json:"d"`
	P   json.RawMessage `json:"p"`
	Q   json.RawMessage `json:"q"`
	DP  json.RawMessage `json:"dp"`
	DQ  json.RawMessage `json:"dq"`
	QI  json.RawMessage `json:"qi"`
	Oth json.RawMessage `json:"oth"`
}

// private names the private parts m carries, if any.
func (m *jwkMember) private() []string {
	var names []string
	for _, f := range []struct {
		name  string
		value json.RawMessage
	}{{"d", m.D}, {"p", m.P}, {"q", m.Q}, {"dp", m.DP}, {"dq", m.DQ}, {"qi", m.QI}, {"oth", m.Oth}} {
		if len(f.value) > 0 && string(f.value) != "null" {
			names = append(names, f.name)
		}
	}
	return names
}

// ParseJWKS reads a JWK set of RSA public keys, as a verifier fetches it:
// at most [MaxJWKSKeys] members, each RSA key with a kid of its own, of
// 2048 to 8192 bits. Members of other types are skipped, as RFC 7517 asks;
// an empty set is no error (it verifies nothing). A set whose members
// carry private parts is refused ([ErrJWKSetPrivate]) before any of its
// numbers is decoded: a verifier has no use for them, and their checks are
// the expensive part of reading a key. Reading a set costs time linear in
// its size and no RSA work.
func ParseJWKS(data []byte) ([]*Key, error) {
	raws, err := jwksMembers(data)
	if err != nil {
		return nil, err
	}
	members := make([]jwkMember, len(raws))
	for i, raw := range raws {
		m := &members[i]
		if err := json.Unmarshal(raw, m); err != nil {
			return nil, fmt.Errorf("%w: key %d is no JWK object", ErrJWKSet, i)
		}
		if priv := m.private(); len(priv) > 0 {
			return nil, fmt.Errorf("%w: %w: key %d (kid %q) carries %s", ErrJWKSet, ErrJWKSetPrivate, i, truncate(m.Kid, 64), strings.Join(priv, ", "))
		}
	}
	keys := make([]*Key, 0, len(members))
	seen := make(map[string]int, len(members))
	for i := range members {
		m := &members[i]
		if m.Kty != "RSA" {
			continue
		}
		switch j, twice := seen[m.Kid]; {
		case m.Kid == "":
			return nil, fmt.Errorf("%w: key %d has no kid", ErrJWKSet, i)
		case twice:
			return nil, fmt.Errorf("%w: kid %q names keys %d and %d", ErrJWKSet, truncate(m.Kid, 64), j, i)
		}
		seen[m.Kid] = i
		pub, err := jwkPublic(m.N, m.E)
		if errors.Is(err, errJWKNumbers) {
			return nil, fmt.Errorf("%w: key %d (kid %q) has %w", ErrJWKSet, i, truncate(m.Kid, 64), err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: key %d (kid %q): %w", ErrJWKSet, i, truncate(m.Kid, 64), err)
		}
		keys = append(keys, &Key{ID: m.Kid, Public: pub})
	}
	if len(keys) == 0 && len(members) > 0 {
		return nil, fmt.Errorf("%w: none of its %d keys is an RSA key", ErrJWKSet, len(members))
	}
	return keys, nil
}

// jwksMembers returns the members of a JWK set's keys array, unparsed. It
// reads the set as a stream and stops at the first member past
// MaxJWKSKeys: a set of a million empty members costs no more than one of
// MaxJWKSKeys. Other members of the set's object are skipped.
func jwksMembers(data []byte) ([]json.RawMessage, error) {
	malformed := fmt.Errorf("%w: malformed JSON, or not an object with a keys array", ErrJWKSet)
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, malformed
	}
	var members []json.RawMessage
	found := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, malformed
		}
		if name, _ := t.(string); name != "keys" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, malformed
			}
			continue
		}
		if found {
			return nil, fmt.Errorf("%w: two keys arrays", ErrJWKSet)
		}
		found = true
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil, malformed
		}
		members = []json.RawMessage{}
		for dec.More() {
			if len(members) == MaxJWKSKeys {
				return nil, fmt.Errorf("%w: over %d keys", ErrJWKSet, MaxJWKSKeys)
			}
			var m json.RawMessage
			if err := dec.Decode(&m); err != nil {
				return nil, malformed
			}
			members = append(members, m)
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, malformed
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed
	}
	if !found {
		return nil, fmt.Errorf("%w: no keys array", ErrJWKSet)
	}
	return members, nil
}
