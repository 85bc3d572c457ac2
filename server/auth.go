package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Credential is one API credential the server accepts: a bearer API token,
// or an email with a global API key.
type Credential struct {
	// Token is an API token, sent as "Authorization: Bearer <token>".
	Token string `yaml:"token,omitempty"`
	// Email and Key are sent as X-Auth-Email and X-Auth-Key.
	Email string `yaml:"email,omitempty"`
	Key   string `yaml:"key,omitempty"`
	// Accounts are the account IDs the credential may create tokens for;
	// none means every account.
	Accounts []string `yaml:"accounts,omitempty"`
}

func (c Credential) check() error {
	switch {
	case c.Token != "" && (c.Email != "" || c.Key != ""):
		return errors.New("set token, or email and key, not both")
	case c.Token == "" && (c.Email == "" || c.Key == ""):
		return errors.New("set token, or email and key")
	}
	for _, a := range c.Accounts {
		if a == "" || len(a) > 32 || strings.Contains(a, "/") {
			return fmt.Errorf("account %q is not 1 to 32 characters without \"/\"", a)
		}
	}
	return nil
}

// ParseCredentials reads a credentials file, in YAML or JSON:
//
//	credentials:
//	  - token: "…"                                  # a bearer API token
//	    accounts: ["023e105f4ecef8ad9ca31a8372d0c353"] # leave out for every account
//	  - email: user@example.com                     # or an email with a global API key
//	    key: "…"
//
// Unknown fields are an error. Errors name the entry, never a secret.
func ParseCredentials(data []byte) ([]Credential, error) {
	var file struct {
		Credentials []Credential `yaml:"credentials"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("credentials file: %s", yamlProblem(err))
	}
	if len(file.Credentials) == 0 {
		return nil, errors.New("credentials file: no credentials")
	}
	for i, c := range file.Credentials {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("credentials file: credentials[%d]: %w", i, err)
		}
	}
	return file.Credentials, nil
}

// LoadCredentials reads a credentials file from disk; see ParseCredentials.
func LoadCredentials(path string) ([]Credential, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCredentials(data)
}

// yamlProblem keeps the line numbers of a YAML error but not the text it
// quotes, which may be a secret.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var lines []string
		for _, e := range te.Errors {
			if i := strings.Index(e, ":"); i > 0 && strings.HasPrefix(e, "line ") {
				lines = append(lines, e[:i])
			}
		}
		return "unknown field or wrong type at " + strings.Join(lines, ", ")
	}
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		end := i + len("line ")
		for end < len(msg) && msg[end] >= '0' && msg[end] <= '9' {
			end++
		}
		return "not YAML or JSON (" + msg[i:end] + ")"
	}
	return "not YAML or JSON"
}

// authenticator checks requests against the configured credentials. It
// keeps only SHA-256 digests of them, and compares every one in constant
// time, so that neither memory dumps nor timing reveal which exist.
type authenticator struct {
	creds []storedCredential
}

type storedCredential struct {
	digest   [sha256.Size]byte
	accounts map[string]bool // nil: every account
}

func bearerDigest(token string) [sha256.Size]byte {
	return sha256.Sum256([]byte("bearer\x00" + token))
}

func keyDigest(email, key string) [sha256.Size]byte {
	return sha256.Sum256([]byte("key\x00" + email + "\x00" + key))
}

func newAuthenticator(creds []Credential) (*authenticator, error) {
	a := &authenticator{}
	for i, c := range creds {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("credential %d: %w", i, err)
		}
		s := storedCredential{digest: bearerDigest(c.Token)}
		if c.Token == "" {
			s.digest = keyDigest(c.Email, c.Key)
		}
		if len(c.Accounts) > 0 {
			s.accounts = make(map[string]bool, len(c.Accounts))
			for _, acct := range c.Accounts {
				s.accounts[acct] = true
			}
		}
		a.creds = append(a.creds, s)
	}
	return a, nil
}

// check authenticates r for account: nil when allowed, else a 401 or 403.
func (a *authenticator) check(r *http.Request, account string) *problem {
	var presented [][sha256.Size]byte
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != "" {
			presented = append(presented, bearerDigest(strings.TrimSpace(token)))
		}
	}
	if email, key := r.Header.Get("X-Auth-Email"), r.Header.Get("X-Auth-Key"); email != "" && key != "" {
		presented = append(presented, keyDigest(email, key))
	}
	match := -1
	for _, p := range presented {
		for i := range a.creds {
			if subtle.ConstantTimeCompare(p[:], a.creds[i].digest[:]) == 1 && match < 0 {
				match = i
			}
		}
	}
	if match < 0 {
		return &problem{Status: http.StatusUnauthorized, Code: CodeAuthentication, Message: "Authentication error"}
	}
	if acc := a.creds[match].accounts; acc != nil && !acc[account] {
		return &problem{Status: http.StatusForbidden, Code: CodeForbidden, Message: "Authentication error: this credential is not allowed for the account"}
	}
	return nil
}
