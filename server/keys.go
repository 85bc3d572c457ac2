package server

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/streamtoken/streamtoken/token"
)

// GenerateKey makes a new RSA-2048 signing key, with an ID derived from its
// public key.
func GenerateKey() (*token.Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return token.NewKey(token.KeyID(&priv.PublicKey), priv)
}

// LoadKey reads a signing key file in any form token.ParseKey reads. The
// ID is id when given, else the key's own (a JWK's kid), else one derived
// from the public key.
func LoadKey(path, id string) (*token.Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := token.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
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
// from its public key. Other files are ignored.
func LoadKeysDir(dir string) (map[string]*token.Key, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	keys := map[string]*token.Key{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".pem" && ext != ".jwk" && ext != ".json") {
			continue
		}
		account := strings.TrimSuffix(e.Name(), ext)
		if why := token.CheckID(account); why != "" {
			return nil, fmt.Errorf("%s: the file name must be an account ID: %s", e.Name(), why)
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
