package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HeaderName is the header Cloudflare signs a notification in.
const HeaderName = "Webhook-Signature"

// Bounds checked before any work.
const (
	// DefaultTolerance is how far a notification's time may be from the
	// receiver's clock, either way, when the caller gives none (see the
	// package documentation).
	DefaultTolerance = 5 * time.Minute
	// MaxBodyBytes is the largest notification verified: a video object
	// is a few kilobytes, and what is larger is refused unread.
	MaxBodyBytes = 1 << 20
	// MaxHeaderBytes is the longest Webhook-Signature header parsed.
	MaxHeaderBytes = 1 << 10
	// MaxSignatures is the most sig1 values one header may carry (a
	// sender signing with a retiring secret and its successor sends two).
	MaxSignatures = 8
)

// Errors of [Verify], for errors.Is. None holds the secret, the header's
// signatures or the body.
var (
	// ErrMalformed: the header (or the body) is not what a notification
	// carries.
	ErrMalformed = errors.New("webhook: malformed notification")
	// ErrTooLarge: the header or the body is over its bound.
	ErrTooLarge = errors.New("webhook: notification too large")
	// ErrStale: the header's time is further in the past than the
	// tolerance.
	ErrStale = errors.New("webhook: notification too old")
	// ErrFuture: the header's time is further in the future than the
	// tolerance.
	ErrFuture = errors.New("webhook: notification from the future")
	// ErrSignature: no sig1 of the header is the body's signature under
	// the secret.
	ErrSignature = errors.New("webhook: signature does not match")
	// ErrNoSecret: the secret is empty, and nothing can be verified.
	ErrNoSecret = errors.New("webhook: no secret to verify with")
)

// header is a parsed Webhook-Signature header.
type header struct {
	time int64
	sigs [][]byte // each sig1, decoded
}

// parseHeader reads "time=<unix seconds>,sig1=<hex>[,sig1=<hex>...]".
// Other keys are ignored (a later scheme's, such as sig2), so that a
// sender may add one; time must appear once, sig1 at least once.
func parseHeader(h string) (header, error) {
	var out header
	if len(h) > MaxHeaderBytes {
		return out, fmt.Errorf("%w: the %s header is over %d bytes", ErrTooLarge, HeaderName, MaxHeaderBytes)
	}
	if h == "" {
		return out, fmt.Errorf("%w: no %s header", ErrMalformed, HeaderName)
	}
	seenTime := false
	for i, part := range strings.Split(h, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return out, fmt.Errorf("%w: the %s header's part %d is not key=value", ErrMalformed, HeaderName, i+1)
		}
		switch key {
		case "time":
			if seenTime {
				return out, fmt.Errorf("%w: the %s header gives time twice", ErrMalformed, HeaderName)
			}
			seenTime = true
			t, err := parseTime(value)
			if err != nil {
				return out, err
			}
			out.time = t
		case "sig1":
			if len(out.sigs) == MaxSignatures {
				return out, fmt.Errorf("%w: the %s header carries over %d signatures", ErrMalformed, HeaderName, MaxSignatures)
			}
			if len(value) != 2*sha256.Size {
				return out, fmt.Errorf("%w: a sig1 of the %s header is %d characters, want %d hex digits", ErrMalformed, HeaderName, len(value), 2*sha256.Size)
			}
			sig, err := hex.DecodeString(value)
			if err != nil {
				return out, fmt.Errorf("%w: a sig1 of the %s header is not hex", ErrMalformed, HeaderName)
			}
			out.sigs = append(out.sigs, sig)
		}
	}
	switch {
	case !seenTime:
		return out, fmt.Errorf("%w: the %s header has no time", ErrMalformed, HeaderName)
	case len(out.sigs) == 0:
		return out, fmt.Errorf("%w: the %s header has no sig1", ErrMalformed, HeaderName)
	}
	return out, nil
}

// parseTime reads Unix seconds: decimal digits alone, at most 12 (the
// year 33658), so that no sign, space or overflow slips through.
func parseTime(v string) (int64, error) {
	if v == "" || len(v) > 12 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("%w: the %s header's time is not Unix seconds", ErrMalformed, HeaderName)
	}
	t, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: the %s header's time is not Unix seconds", ErrMalformed, HeaderName)
	}
	return t, nil
}

// mac is the signature of body sent at t under secret.
func mac(secret Secret, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(strconv.AppendInt(nil, t, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a notification: header is its Webhook-Signature, body its
// bytes exactly as they arrived, secret the webhook's, now the receiver's
// clock, tolerance how far the header's time may be from now either way
// (0 or less: [DefaultTolerance]). It returns the notification, or an
// error that says which check failed (errors.Is: [ErrTooLarge],
// [ErrMalformed], [ErrStale], [ErrFuture], [ErrSignature], [ErrNoSecret])
// and never quotes the secret, a signature or the body.
//
// The sizes are checked first, then the header's form and its time, then
// the signature (by hmac.Equal, in constant time, against every sig1: any
// one matching passes), and the body is decoded last, once it is known to
// be the sender's.
func Verify(header string, body []byte, secret Secret, now time.Time, tolerance time.Duration) (*Notification, error) {
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: the body is over %d bytes", ErrTooLarge, MaxBodyBytes)
	}
	if secret == "" {
		return nil, ErrNoSecret
	}
	h, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sent := time.Unix(h.time, 0)
	switch age := now.Sub(sent); {
	case age > tolerance:
		return nil, fmt.Errorf("%w: sent %v ago, over the tolerance of %v", ErrStale, age.Round(time.Second), tolerance)
	case -age > tolerance:
		return nil, fmt.Errorf("%w: sent %v ahead of this clock, over the tolerance of %v", ErrFuture, (-age).Round(time.Second), tolerance)
	}
	want := mac(secret, h.time, body)
	matched := false
	for _, sig := range h.sigs {
		// Every one is compared, so that the time taken says nothing of
		// which matched.
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return nil, ErrSignature
	}
	n := &Notification{SentAt: sent, Raw: append(json.RawMessage(nil), body...)}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(n); err != nil {
		return nil, fmt.Errorf("%w: the body is not a video object: %v", ErrMalformed, jsonProblem(err))
	}
	if n.UID == "" {
		return nil, fmt.Errorf("%w: the body has no uid", ErrMalformed)
	}
	return n, nil
}

// jsonProblem says what is wrong with a body without quoting it.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s is a JSON %s, want %s", typ.Field, typ.Value, typ.Type)
	}
	return "invalid JSON"
}

// Sign returns the Webhook-Signature header Cloudflare would send with
// body at t under secret: for tests of a receiver, and for a server that
// sends notifications of its own.
func Sign(secret Secret, body []byte, t time.Time) string {
	return "time=" + strconv.FormatInt(t.Unix(), 10) + ",sig1=" + hex.EncodeToString(mac(secret, t.Unix(), body))
}
