package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// LoadKey reads a key as [token.ReadPrivateKey] does, for a server that
// publishes its own key set: the ID is id when given, else the file's own,
// else one derived from the public key (token.KeyID).
func LoadKey(path, id string) (*token.Key, error) {
	key, err := token.ReadPrivateKey(path)
	if err != nil {
		return nil, err
	}
	switch {
	case id != "":
		key.ID = id
	case key.ID == "":
		key.ID = token.KeyID(key.Public)
	}
	return key, nil
}

// LoadKeysDir reads one signing key per account from dir: a file named
// <account_id>.pem, .jwk or .json holds that account's key (PEM, JWK, or
// base64 of either). A JWK's kid is the key's ID; a PEM key's ID is derived
// from its public key. Files with other extensions are ignored; a key file
// that could never be used is an error rather than a silent fall back to
// another key (the shared one, or one generated for the account): an extension in capitals (a.PEM), a name that is no
// valid account ID (..pem, a name with a newline), or a Cloudflare account
// ID in capitals (IDs are lowercase hex, and the lookup is exact).
func LoadKeysDir(dir string) (map[string]*token.Key, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	keys := map[string]*token.Key{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(ext) {
		case ".pem", ".jwk", ".json":
		default:
			continue
		}
		if ext != strings.ToLower(ext) {
			return nil, fmt.Errorf("%q: the extension must be lowercase (%s), or the key is never used", e.Name(), strings.ToLower(ext))
		}
		account := strings.TrimSuffix(e.Name(), ext)
		if why := ids.Check(account); why != "" {
			return nil, fmt.Errorf("%q: the file name must be an account ID: %s", e.Name(), why)
		}
		if lower := strings.ToLower(account); lower != account && isHex32(lower) {
			return nil, fmt.Errorf("%q: account IDs are lowercase: name it %s%s", e.Name(), lower, ext)
		}
		if keys[account] != nil {
			return nil, fmt.Errorf("%s: a second key for account %s", e.Name(), account)
		}
		key, err := LoadKey(filepath.Join(dir, e.Name()), "")
		if err != nil {
			return nil, err
		}
		keys[account] = key
	}
	return keys, nil
}

// isHex32 reports whether s has the shape of a Cloudflare account ID.
func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}
