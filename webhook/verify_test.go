package webhook

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The test vector: the docs' time, a secret in the form the API gives, and
// a notification body; sig1 computed apart from this package by OpenSSL:
//
//	printf '%s' "$body" > body.json
//	printf '1230811200.' | cat - body.json | openssl dgst -sha256 -hmac '85011ed3a913c6ad5f9cf6c5573cc0a7'
//	SHA2-256(stdin)= ebf8ecb1b3a1393dd60a360f5cbc9687da71a42343fe8b07759279c110729309
const (
	vectorSecret = Secret("85011ed3a913c6ad5f9cf6c5573cc0a7")
	vectorBody   = `{"uid":"ea95132c15732412d22c1476fa83f27a","readyToStream":true,"status":{"state":"ready"},"meta":{"name":"teaser.mp4"},"requireSignedURLs":false}`
	vectorHeader = "time=1230811200,sig1=ebf8ecb1b3a1393dd60a360f5cbc9687da71a42343fe8b07759279c110729309"
)

var vectorTime = time.Unix(1230811200, 0)

func TestVerifyAcceptsCloudflaresScheme(t *testing.T) {
	n, err := Verify(vectorHeader, []byte(vectorBody), vectorSecret, vectorTime.Add(30*time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n.UID != "ea95132c15732412d22c1476fa83f27a" || !n.Ready() || n.Name() != "teaser.mp4" || n.RequireSignedURLs || !n.SentAt.Equal(vectorTime) || string(n.Raw) != vectorBody {
		t.Errorf("Verify = %+v", n)
	}
	if got := Sign(vectorSecret, []byte(vectorBody), vectorTime); got != vectorHeader {
		t.Errorf("Sign = %q, want OpenSSL's %q", got, vectorHeader)
	}
	// Spaces after commas, other keys (a later scheme's) and several sig1
	// (a retiring secret and its successor): accepted.
	other := Sign("another-secret", []byte(vectorBody), vectorTime)
	for _, h := range []string{
		"time=1230811200, sig1=ebf8ecb1b3a1393dd60a360f5cbc9687da71a42343fe8b07759279c110729309",
		"time=1230811200,sig2=abc,sig1=ebf8ecb1b3a1393dd60a360f5cbc9687da71a42343fe8b07759279c110729309",
		other + ",sig1=ebf8ecb1b3a1393dd60a360f5cbc9687da71a42343fe8b07759279c110729309",
		vectorHeader + strings.TrimPrefix(other, "time=1230811200"),
	} {
		if _, err := Verify(h, []byte(vectorBody), vectorSecret, vectorTime, 0); err != nil {
			t.Errorf("Verify(%q): %v", h, err)
		}
	}
}

// Forged and malformed notifications: each refused with the check that
// failed, and no error quotes the secret, a signature or the body.
func TestVerifyRefusesForgeries(t *testing.T) {
	sig := strings.TrimPrefix(vectorHeader, "time=1230811200,sig1=")
	raw, _ := hex.DecodeString(sig)
	raw[5] ^= 1
	flipped := hex.EncodeToString(raw)
	body := []byte(vectorBody)
	for _, c := range []struct {
		name   string
		header string
		body   string
		secret Secret
		now    time.Time
		want   error
		says   string
	}{
		{name: "no header", header: "", want: ErrMalformed, says: "no Webhook-Signature header"},
		{name: "no time", header: "sig1=" + sig, want: ErrMalformed, says: "has no time"},
		{name: "no sig1", header: "time=1230811200", want: ErrMalformed, says: "has no sig1"},
		{name: "not key=value", header: "time=1230811200," + sig, want: ErrMalformed, says: "part 2 is not key=value"},
		{name: "time twice", header: "time=1230811200,time=1230811200,sig1=" + sig, want: ErrMalformed, says: "gives time twice"},
		{name: "time not a number", header: "time=12308e1200,sig1=" + sig, want: ErrMalformed, says: "time is not Unix seconds"},
		{name: "time negative", header: "time=-1230811200,sig1=" + sig, want: ErrMalformed, says: "time is not Unix seconds"},
		{name: "time overflows", header: "time=99999999999999999999,sig1=" + sig, want: ErrMalformed, says: "time is not Unix seconds"},
		{name: "sig1 not hex", header: "time=1230811200,sig1=" + strings.Repeat("zz", 32), want: ErrMalformed, says: "not hex"},
		{name: "sig1 short", header: "time=1230811200,sig1=" + sig[:62], want: ErrMalformed, says: "62 characters, want 64"},
		{name: "too many sig1", header: "time=1230811200" + strings.Repeat(",sig1="+sig, MaxSignatures+1), want: ErrMalformed, says: "over 8 signatures"},
		{name: "header too long", header: vectorHeader + "," + strings.Repeat("x", MaxHeaderBytes), want: ErrTooLarge, says: "over 1024 bytes"},
		{name: "body too large", header: vectorHeader, body: `{"uid":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, want: ErrTooLarge, says: "the body is over 1048576 bytes"},
		{name: "stale", header: vectorHeader, now: vectorTime.Add(DefaultTolerance + time.Second), want: ErrStale, says: "sent 5m1s ago, over the tolerance of 5m0s"},
		{name: "from the future", header: vectorHeader, now: vectorTime.Add(-DefaultTolerance - time.Second), want: ErrFuture, says: "5m1s ahead of this clock"},
		{name: "another secret", header: vectorHeader, secret: "85011ed3a913c6ad5f9cf6c5573cc0a8", want: ErrSignature},
		{name: "one bit of the signature", header: "time=1230811200,sig1=" + flipped, want: ErrSignature},
		{name: "body changed", header: vectorHeader, body: strings.Replace(vectorBody, `"requireSignedURLs":false`, `"requireSignedURLs":true `, 1), want: ErrSignature},
		{name: "time changed", header: "time=1230811201,sig1=" + sig, want: ErrSignature},
		{name: "signed without the time", header: "time=1230811200,sig1=" + strings.TrimPrefix(Sign(vectorSecret, nil, vectorTime), "time=1230811200,sig1="), want: ErrSignature},
		{name: "no secret", header: vectorHeader, secret: "-", want: ErrNoSecret},
		{name: "signed, not JSON", header: Sign(vectorSecret, []byte("uid=1"), vectorTime), body: "uid=1", want: ErrMalformed, says: "invalid JSON at byte 1"},
		{name: "signed, no uid", header: Sign(vectorSecret, []byte(`{"readyToStream":true}`), vectorTime), body: `{"readyToStream":true}`, want: ErrMalformed, says: "no uid"},
		{name: "signed, wrong type", header: Sign(vectorSecret, []byte(`{"uid":7}`), vectorTime), body: `{"uid":7}`, want: ErrMalformed, says: "uid is a JSON number, want string"},
	} {
		b, secret, now := body, vectorSecret, vectorTime
		if c.body != "" {
			b = []byte(c.body)
		}
		switch c.secret {
		case "":
		case "-":
			secret = ""
		default:
			secret = c.secret
		}
		if !c.now.IsZero() {
			now = c.now
		}
		n, err := Verify(c.header, b, secret, now, 0)
		if !errors.Is(err, c.want) || n != nil {
			t.Errorf("%s: Verify = %v, %v; want %v", c.name, n, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %q does not say %q", c.name, err, c.says)
		}
		for _, leak := range []string{vectorSecret.Reveal(), sig[:16], string(flipped[:16]), "teaser", "uid=1"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: the error %q quotes %q", c.name, err, leak[:4]+"…")
			}
		}
	}
}

// The tolerance is the caller's to choose: the boundary is inclusive.
func TestVerifyTolerance(t *testing.T) {
	for _, c := range []struct {
		age       time.Duration
		tolerance time.Duration
		ok        bool
	}{
		{age: time.Minute, tolerance: 30 * time.Second, ok: false},
		{age: 30 * time.Second, tolerance: 30 * time.Second, ok: true},
		{age: -30 * time.Second, tolerance: 30 * time.Second, ok: true},
		{age: -31 * time.Second, tolerance: 30 * time.Second, ok: false},
		{age: DefaultTolerance, tolerance: 0, ok: true},
		{age: DefaultTolerance + time.Second, tolerance: -1, ok: false},
		{age: time.Hour, tolerance: 2 * time.Hour, ok: true},
	} {
		_, err := Verify(vectorHeader, []byte(vectorBody), vectorSecret, vectorTime.Add(c.age), c.tolerance)
		if (err == nil) != c.ok {
			t.Errorf("age %v, tolerance %v: %v; want ok=%v", c.age, c.tolerance, err, c.ok)
		}
	}
}

func TestSecretRedactsItself(t *testing.T) {
	type holder struct{ S Secret }
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", vectorSecret, "holder", holder{vectorSecret})
	for _, s := range []string{
		vectorSecret.String(), fmt.Sprint(vectorSecret), fmt.Sprintf("%v %+v %#v %s", vectorSecret, holder{vectorSecret}, holder{vectorSecret}, vectorSecret),
		logged.String(),
	} {
		if strings.Contains(s, vectorSecret.Reveal()) {
			t.Errorf("%q shows the secret", s)
		}
	}
	if b, _ := vectorSecret.MarshalJSON(); string(b) != `"[redacted]"` {
		t.Errorf("MarshalJSON = %s", b)
	}
	if Secret("").String() != "" {
		t.Error("no secret prints as [redacted]")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(vectorHeader)
	f.Add("time=1230811200,sig1=" + strings.Repeat("0", 64) + ",sig1=" + strings.Repeat("f", 64))
	f.Add("time=,sig1=")
	f.Add("sig2=ab, time=1")
	f.Fuzz(func(t *testing.T, h string) {
		got, err := parseHeader(h)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("parseHeader(%q): %v is neither ErrMalformed nor ErrTooLarge", h, err)
			}
			return
		}
		if got.time < 0 || len(got.sigs) == 0 || len(got.sigs) > MaxSignatures || len(h) > MaxHeaderBytes {
			t.Fatalf("parseHeader(%q) = %+v", h, got)
		}
		for _, s := range got.sigs {
			if len(s) != 32 {
				t.Fatalf("parseHeader(%q): a signature of %d bytes", h, len(s))
			}
		}
		// What parses verifies or is refused, never panics.
		_, _ = Verify(h, []byte(vectorBody), vectorSecret, time.Unix(got.time, 0), 0)
	})
}

// The bounds are inclusive: a header of MaxHeaderBytes, a body of
// MaxBodyBytes and a time of 12 digits are taken; one more is not.
func TestVerifyBoundsAreExact(t *testing.T) {
	header := vectorHeader + ",x=" + strings.Repeat("y", MaxHeaderBytes-len(vectorHeader)-3)
	if len(header) != MaxHeaderBytes {
		t.Fatalf("the header is %d bytes", len(header))
	}
	if _, err := Verify(header, []byte(vectorBody), vectorSecret, vectorTime, 0); err != nil {
		t.Errorf("a header of %d bytes: %v", MaxHeaderBytes, err)
	}
	if _, err := Verify(header+"y", []byte(vectorBody), vectorSecret, vectorTime, 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a header of %d bytes: %v", MaxHeaderBytes+1, err)
	}
	body := []byte(`{"uid":"` + strings.Repeat("a", MaxBodyBytes-10) + `"}`)
	if len(body) != MaxBodyBytes {
		t.Fatalf("the body is %d bytes", len(body))
	}
	if _, err := Verify(Sign(vectorSecret, body, vectorTime), body, vectorSecret, vectorTime, 0); err != nil {
		t.Errorf("a body of %d bytes: %v", MaxBodyBytes, err)
	}
	far := time.Unix(999_999_999_999, 0)
	if _, err := Verify(Sign(vectorSecret, []byte(vectorBody), far), []byte(vectorBody), vectorSecret, far, 0); err != nil {
		t.Errorf("a time of 12 digits: %v", err)
	}
	if _, err := Verify("time=1000000000000,sig1="+strings.Repeat("0", 64), []byte(vectorBody), vectorSecret, vectorTime, 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("a time of 13 digits: %v", err)
	}
}

func TestNotificationReady(t *testing.T) {
	for _, c := range []struct {
		n    Notification
		want bool
	}{
		{Notification{ReadyToStream: true}, true},
		{Notification{Status: Status{State: StateReady}}, true},
		{Notification{Status: Status{State: StateError}}, false},
		{Notification{Status: Status{State: "inprogress"}}, false},
	} {
		if got := c.n.Ready(); got != c.want {
			t.Errorf("%+v.Ready() = %v", c.n, got)
		}
	}
}
