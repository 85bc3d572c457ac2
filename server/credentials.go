package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/internal/suggest"
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
	// nil means every account, and an empty list is an error.
	Accounts []string `yaml:"accounts,omitempty"`
}

func (c Credential) check() error {
	switch {
	case c.Token != "" && (c.Email != "" || c.Key != ""):
		return errors.New("set token, or email and key, not both")
	case c.Token == "" && (c.Email == "" || c.Key == ""):
		return errors.New("set token, or email and key")
	}
	for _, f := range []struct{ name, value string }{{"token", c.Token}, {"email", c.Email}, {"key", c.Key}} {
		// A request's header can never carry them: the credential
		// would never match.
		if strings.TrimSpace(f.value) != f.value {
			return fmt.Errorf("%s has leading or trailing spaces", f.name)
		}
		if strings.ContainsFunc(f.value, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("%s holds a control character", f.name)
		}
	}
	if c.Accounts != nil && len(c.Accounts) == 0 {
		return errors.New("accounts is an empty list: leave it out for every account")
	}
	for _, a := range c.Accounts {
		if why := ids.Check(a); why != "" {
			return fmt.Errorf("account %q: %s", a, why)
		}
	}
	return nil
}

// String describes the credential without its secret: its kind, its email
// and its accounts. Printing or logging a Credential never shows the token
// or the key.
func (c Credential) String() string {
	accounts := "every account"
	if c.Accounts != nil {
		accounts = "accounts " + strings.Join(c.Accounts, ",")
	}
	if c.Email != "" || c.Key != "" {
		return fmt.Sprintf("server.Credential{email %q, key [redacted], %s}", c.Email, accounts)
	}
	return fmt.Sprintf("server.Credential{token [redacted], %s}", accounts)
}

// GoString is String, for %#v.
func (c Credential) GoString() string { return c.String() }

// LogValue keeps the credential's secret out of log/slog output.
func (c Credential) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("token", redacted(c.Token)), slog.String("email", c.Email), slog.String("key", redacted(c.Key))}
	if c.Accounts != nil {
		attrs = append(attrs, slog.Any("accounts", c.Accounts))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the credential with its secret redacted.
func (c Credential) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Token    string   `json:"token,omitempty"`
		Email    string   `json:"email,omitempty"`
		Key      string   `json:"key,omitempty"`
		Accounts []string `json:"accounts,omitempty"`
	}{redacted(c.Token), c.Email, redacted(c.Key), c.Accounts})
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}

// ParseCredentials reads a credentials file, in YAML or JSON:
//
//	credentials:
//	  - token: "…"                                  # a bearer API token
//	    accounts: ["023e105f4ecef8ad9ca31a8372d0c353"] # leave out for every account
//	  - email: user@example.com                     # or an email with a global API key
//	    key: "…"
//
// Unknown fields are an error, and so is a gateway's upstream section
// (see [ParseCredentialsFile]). Errors name the entry, never a secret.
func ParseCredentials(data []byte) ([]Credential, error) {
	file, err := ParseCredentialsFile(data)
	if err != nil {
		return nil, err
	}
	if len(file.Upstream) > 0 {
		return nil, errors.New("credentials file: upstream: the credentials of an upstream, for a gateway (serve --upstream) alone")
	}
	return file.Credentials, nil
}

// CredentialsFile is what a credentials file holds: the credentials a
// server accepts and, for a gateway in front of an upstream API, the
// gateway's own credentials there.
type CredentialsFile struct {
	// Credentials are those the server accepts (at least one).
	Credentials []Credential `yaml:"credentials"`
	// Upstream are a gateway's own credentials at its upstream, each for
	// the accounts it names (required, and each account in one entry
	// alone): a caller's requests for those accounts reach the upstream
	// with them, never with the caller's.
	Upstream []Credential `yaml:"upstream"`
}

// ParseCredentialsFile reads a credentials file as [ParseCredentials]
// does, with an upstream section beside the credentials:
//
//	upstream:
//	  - token: "…"                                  # the gateway's own, at the upstream
//	    accounts: ["023e105f4ecef8ad9ca31a8372d0c353"]
func ParseCredentialsFile(data []byte) (*CredentialsFile, error) {
	var file CredentialsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("credentials file: %s", yamlProblem(err))
	}
	var more any
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("credentials file: a second YAML document (after ---): put every credential in one")
	}
	if len(file.Credentials) == 0 {
		return nil, errors.New("credentials file: no credentials")
	}
	for i, c := range file.Credentials {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("credentials file: credentials[%d]: %w", i, err)
		}
	}
	seen := map[string]int{}
	for i, c := range file.Upstream {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("credentials file: upstream[%d]: %w", i, err)
		}
		if c.Accounts == nil {
			return nil, fmt.Errorf("credentials file: upstream[%d]: accounts: name the accounts it is for", i)
		}
		for _, a := range c.Accounts {
			if j, dup := seen[a]; dup {
				return nil, fmt.Errorf("credentials file: upstream[%d]: account %s is upstream[%d]'s already: one credential per account", i, a, j)
			}
			seen[a] = i
		}
	}
	return &file, nil
}

// LoadCredentials reads a credentials file from disk, a regular file of at
// most 1 MiB; see ParseCredentials.
func LoadCredentials(path string) ([]Credential, error) {
	data, err := files.Read(path)
	if err != nil {
		return nil, err
	}
	return ParseCredentials(data)
}

// LoadCredentialsFile reads a credentials file from disk, a regular file
// of at most 1 MiB; see ParseCredentialsFile.
func LoadCredentialsFile(path string) (*CredentialsFile, error) {
	data, err := files.Read(path)
	if err != nil {
		return nil, err
	}
	return ParseCredentialsFile(data)
}

// The errors of yaml.v3 this file names the field of: a mapping key given
// twice, and an unknown one.
var (
	duplicateKey = regexp.MustCompile(`^(line \d+): mapping key "([^"]*)" already defined`)
	unknownKey   = regexp.MustCompile(`^(line \d+): field (.*) not found in type`)
)

// credentialFields are the field names of a credentials file: an unknown
// key is named in an error only when it is a typo of one of them.
var credentialFields = []string{"credentials", "upstream", "token", "email", "key", "accounts"}

// yamlProblem keeps the line numbers of a YAML error but not the text it
// quotes, which may be a secret.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var lines []string
		for _, e := range te.Errors {
			if m := duplicateKey.FindStringSubmatch(e); m != nil {
				// Name the key only if it is one of the file's field
				// names: another key may be a secret in the wrong place.
				field := "a key"
				if slices.Contains(credentialFields, m[2]) {
					field = "field " + m[2]
				}
				return field + " given twice (" + m[1] + ")"
			}
			if m := unknownKey.FindStringSubmatch(e); m != nil {
				// Named only when it is a typo of a field's name: anything
				// else in a field's place may be a secret.
				if want := suggest.Closest(m[2], credentialFields); want != "" {
					lines = append(lines, fmt.Sprintf("unknown field %q at %s (did you mean %q?)", m[2], m[1], want))
				} else {
					lines = append(lines, "an unknown field at "+m[1])
				}
				continue
			}
			if i := strings.Index(e, ":"); i > 0 && strings.HasPrefix(e, "line ") {
				lines = append(lines, "a wrong type at "+e[:i])
			}
		}
		return strings.Join(lines, "; ") + " (want token, email, key, accounts)"
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
