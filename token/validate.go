package token

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Limits of the API, enforced wherever a token is made: by the client before
// it sends a request, by the server before it signs, and by [Signer].
const (
	// MaxLifetime is how far after now a token's exp may lie.
	MaxLifetime = 24 * time.Hour
	// RetireAfter is how long after a key stops signing every token it
	// signed has expired, so that it may be deleted: MaxLifetime, and 5
	// minutes for the clocks of the signer and the verifiers.
	RetireAfter = MaxLifetime + 5*time.Minute
	// DefaultLifetime is how far after now exp lies when it is not set.
	DefaultLifetime = time.Hour
	// DefaultBackdate is how far before now nbf lies when it is not set.
	DefaultBackdate = time.Hour
	// MaxRules is the largest number of access rules a token may carry.
	MaxRules = 5
	// MaxVideoIDLength is the longest video ID (sub) a token may carry.
	MaxVideoIDLength = 32
	// MaxKeyIDLength is the longest signing key ID (id, kid) taken.
	MaxKeyIDLength = 64
	// MaxViolations is the most violations a [ValidationError] lists;
	// past it, More counts the rest. A report of what is wrong with a
	// request is never many times the request's size.
	MaxViolations = 20
)

// ErrInvalid is matched by every [*ValidationError].
var ErrInvalid = errors.New("invalid request")

// Violation is one broken rule of a request: of a token request, or of
// another of the API's requests the client checks before sending (path
// IDs, a video's allowedOrigins).
type Violation struct {
	// Field names the field at fault for people, such as "exp",
	// "accessRules[0].ip[1]", or "VideoID" for the video.
	Field string
	// Pointer is the field's JSON pointer (RFC 6901) in the token's claims,
	// which are also the API's request body: "/exp", "/accessRules/0/ip/1".
	// The video, a path parameter in the API, is "/sub". A violation that
	// comes from elsewhere (the client's or server's own checks) may have
	// none.
	Pointer string
	// Problem says what is wrong, without repeating the field.
	Problem string
}

// String is the violation as "field: problem".
func (v Violation) String() string { return v.Field + ": " + v.Problem }

// ValidationError lists the rules a request breaks (a token request, or
// another of the API's requests): every one, up to [MaxViolations]. It
// never holds a key or a token.
type ValidationError struct {
	Violations []Violation
	// More counts the violations found past MaxViolations, not listed.
	More int
}

// Error lists the violations on one line.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations), len(e.Violations)+1)
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	if e.More > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", e.More))
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// Is reports whether target is [ErrInvalid].
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// problems collects violations, the first MaxViolations in full and the
// rest as a count; its zero value is ready to use.
type problems struct {
	list []Violation
	more int
}

// full reports whether further violations are only counted: a caller can
// then skip building their messages.
func (p *problems) full() bool { return len(p.list) >= MaxViolations }

// skip counts a violation without describing it once the list is full,
// and reports whether it did: describing costs more than finding.
func (p *problems) skip() bool {
	if !p.full() {
		return false
	}
	p.more++
	return true
}

// add records a problem with the body field at path, given as JSON pointer
// segments: add("bad", "accessRules", 0, "ip", 1).
func (p *problems) add(problem string, path ...any) {
	p.addViolation(FieldViolation(problem, path...))
}

func (p *problems) addViolation(v Violation) {
	if p.full() {
		p.more++
		return
	}
	p.list = append(p.list, v)
}

// err returns a [*ValidationError] with every problem, or nil if none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Violations: p.list, More: p.more}
}

// Join merges validation errors into one, capped at [MaxViolations] like
// each of them: nil when none of errs is a [*ValidationError] with a
// violation. Errors of other kinds are ignored.
func Join(errs ...error) *ValidationError {
	var p problems
	for _, err := range errs {
		var v *ValidationError
		if !errors.As(err, &v) {
			continue
		}
		for _, x := range v.Violations {
			p.addViolation(x)
		}
		p.more += v.More
	}
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Violations: p.list, More: p.more}
}

// FieldViolation returns a violation of the body field (or claim) at
// path, given as JSON pointer segments, strings and ints:
// FieldViolation("is required", "pem") or FieldViolation(problem,
// "accessRules", 0, "ip", 1). Segments are escaped as RFC 6901 says, so
// that any property name can be named. The client, the server and this
// package build every violation with it.
func FieldViolation(problem string, path ...any) Violation {
	var field, pointer strings.Builder
	for _, seg := range path {
		switch s := seg.(type) {
		case int:
			n := strconv.Itoa(s)
			field.WriteString("[" + n + "]")
			pointer.WriteString("/" + n)
		case string:
			if field.Len() > 0 {
				field.WriteByte('.')
			}
			field.WriteString(s)
			pointer.WriteString("/" + pointerEscaper.Replace(s))
		}
	}
	return Violation{Field: field.String(), Pointer: pointer.String(), Problem: problem}
}

// pointerEscaper escapes a JSON pointer segment (RFC 6901, section 3).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// CheckKeyID reports what is wrong with a signing key's ID (the API's id
// field, a token's kid), or nil when nothing is: 1 to [MaxKeyIDLength]
// printable ASCII characters, no space or control character. The error
// says what is wrong without naming the field.
func CheckKeyID(id string) error {
	if problem := checkPrintable(id, MaxKeyIDLength); problem != "" {
		return errors.New(problem)
	}
	return nil
}

// checkPrintable checks that s is 1 to max characters of printable ASCII
// other than space. The length counts characters, not bytes.
func checkPrintable(s string, max int) string {
	if s == "" {
		return "is required"
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, n)
	}
	for i, r := range s {
		if r < '!' || r > '~' {
			return fmt.Sprintf("must be printable ASCII without spaces, got %s at character %d", quote(string(r)), utf8.RuneCountInString(s[:i])+1)
		}
	}
	return ""
}

// checkTimes reports what is wrong with a token's validity window, resolved
// against now (zero times take their defaults). Times count in whole seconds,
// as on the wire.
func checkTimes(p *problems, now, exp, nbf time.Time) {
	exp, nbf = resolveTimes(now, exp, nbf)
	switch {
	case exp.Unix() <= now.Unix():
		p.add(fmt.Sprintf("must be after now (%s), got %s", formatTime(now), formatTime(exp)), "exp")
	case exp.Unix() > now.Add(MaxLifetime).Unix():
		p.add(fmt.Sprintf("must be at most 24h after now (%s), got %s", formatTime(now), formatTime(exp)), "exp")
	case nbf.Unix() >= exp.Unix():
		// Only once exp is right: a wrong exp says enough.
		p.add(fmt.Sprintf("must be before exp (%s), got %s", formatTime(exp), formatTime(nbf)), "nbf")
	case nbf.Unix() < 0:
		// Readers of tokens take times from 1970 on: sign nothing our own
		// verifier would call malformed.
		p.add(fmt.Sprintf("must not be before 1970, got %d", nbf.Unix()), "nbf")
	}
}

// resolveTimes fills in the default exp and nbf.
func resolveTimes(now, exp, nbf time.Time) (time.Time, time.Time) {
	if exp.IsZero() {
		exp = now.Add(DefaultLifetime)
	}
	if nbf.IsZero() {
		nbf = now.Add(-DefaultBackdate)
	}
	return exp, nbf
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkRules reports every problem with a list of access rules: at most
// [MaxRules]; known types and actions; an ip.src rule lists addresses or
// CIDRs and no countries, an ip.geoip.country rule countries and no
// addresses, an any rule neither.
func checkRules(p *problems, rules []Rule) {
	if len(rules) > MaxRules {
		p.add(fmt.Sprintf("must hold at most %d rules, got %d", MaxRules, len(rules)), "accessRules")
	}
	for i, r := range rules {
		switch r.Action {
		case ActionAllow, ActionBlock:
		default:
			p.add(fmt.Sprintf("must be %q or %q, got %s", ActionAllow, ActionBlock, quote(string(r.Action))), "accessRules", i, "action")
		}
		switch r.Type {
		case RuleIPSrc:
			if len(r.IP) == 0 {
				p.add("an ip.src rule needs at least one address or CIDR", "accessRules", i, "ip")
			}
			if len(r.Country) > 0 {
				p.add("an ip.src rule takes no countries", "accessRules", i, "country")
			}
		case RuleCountry:
			if len(r.Country) == 0 {
				p.add("an ip.geoip.country rule needs at least one country", "accessRules", i, "country")
			}
			if len(r.IP) > 0 {
				p.add("an ip.geoip.country rule takes no addresses", "accessRules", i, "ip")
			}
		case RuleAny:
			if len(r.IP) > 0 {
				p.add("an any rule takes no addresses", "accessRules", i, "ip")
			}
			if len(r.Country) > 0 {
				p.add("an any rule takes no countries", "accessRules", i, "country")
			}
		default:
			p.add(fmt.Sprintf("must be %q, %q or %q, got %s", RuleAny, RuleIPSrc, RuleCountry, quote(string(r.Type))), "accessRules", i, "type")
		}
		for j, s := range r.IP {
			if _, ok := parsePrefix(s); !ok && !p.skip() {
				p.add(notAnIP(s), "accessRules", i, "ip", j)
			}
		}
		for j, c := range r.Country {
			if !IsCountry(c) && !p.skip() {
				p.add(fmt.Sprintf("%s is not an assigned ISO 3166-1 alpha-2 country code", quote(c)), "accessRules", i, "country", j)
			}
		}
	}
}

// ParsePrefix parses an access rule's IP entry: an IPv4 or IPv6 address (a
// prefix of one address) or a CIDR. Zones are refused; an IPv4-mapped IPv6
// address or CIDR is unmapped, so that it matches the IPv4 viewers it names.
func ParsePrefix(s string) (netip.Prefix, error) {
	pfx, ok := parsePrefix(s)
	if !ok {
		return netip.Prefix{}, errors.New(notAnIP(s))
	}
	return pfx, nil
}

func notAnIP(s string) string { return quote(s) + " is not an IP address or CIDR" }

// parsePrefix is ParsePrefix without building an error.
func parsePrefix(s string) (netip.Prefix, bool) {
	var pfx netip.Prefix
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		pfx = p.Masked()
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
	}
	return pfx, true
}

// IsCountry reports whether c is an assigned ISO 3166-1 alpha-2 country code,
// in capitals. It asks golang.org/x/text's region table, refusing private-use
// codes (XK, ZZ), reserved ones without a UN M.49 number (EU, UN, AC) and
// codes that have been replaced (UK for GB, DD for DE).
func IsCountry(c string) bool {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return false
	}
	r, err := language.ParseRegion(c)
	if err != nil {
		return false
	}
	return r.IsCountry() && !r.IsPrivateUse() && r.M49() != 0 && r.Canonicalize() == r
}

// quote quotes a value for an error message, cut to a readable length.
func quote(s string) string {
	const max = 48
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
