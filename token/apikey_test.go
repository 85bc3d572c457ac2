package token_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/token"
)

// apiResult is the API's create-key result for k, as a server writes it.
func apiResult(t *testing.T, k *token.Key) []byte {
	t.Helper()
	p, err := k.PrivatePEM()
	if err != nil {
		t.Fatal(err)
	}
	j, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{
		"id": k.ID, "created": "2026-11-29T08:00:00Z",
		"pem": base64.StdEncoding.EncodeToString(p), "jwk": base64.StdEncoding.EncodeToString(j),
	})
	return b
}

func TestAPIKeyResultParsesWithItsID(t *testing.T) {
	k := testkey.Load(t, "rsa2048.pem", "5213cfa121f70b8c1380686ffc371ba3")
	result := apiResult(t, k)
	envelope := []byte(`{"success":true,"errors":[],"messages":[],"result":` + string(result) + `}`)
	var fields map[string]string
	_ = json.Unmarshal(result, &fields)
	pemOnly, _ := json.Marshal(map[string]string{"id": k.ID, "pem": fields["pem"]})
	jwkOnly, _ := json.Marshal(map[string]string{"jwk": fields["jwk"]})
	for name, data := range map[string][]byte{
		"result": result, "envelope": envelope, "pem and id": pemOnly, "jwk alone": jwkOnly,
		"the jwk field": []byte(fields["jwk"]), "the pem field": []byte(fields["pem"]),
	} {
		got, err := token.ParsePrivateKey(data)
		if err != nil {
			t.Errorf("ParsePrivateKey(%s) = %v", name, err)
			continue
		}
		if got.Private.D.Cmp(k.Private.D) != 0 {
			t.Errorf("ParsePrivateKey(%s): another key", name)
		}
		if want := map[bool]string{true: "", false: k.ID}[name == "the pem field"]; got.ID != want {
			t.Errorf("ParsePrivateKey(%s).ID = %q, want %q", name, got.ID, want)
		}
	}
	// The JWK is the API's: kid, use, alg, and every private parameter.
	raw, _ := base64.StdEncoding.DecodeString(fields["jwk"])
	var j map[string]string
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"use", "kty", "kid", "alg", "n", "e", "d", "p", "q", "dp", "dq", "qi"} {
		if j[f] == "" {
			t.Errorf("PrivateJWK() lacks %s", f)
		}
	}
	if j["kid"] != k.ID || j["alg"] != "RS256" || j["use"] != "sig" {
		t.Errorf("PrivateJWK() = kid %q alg %q use %q", j["kid"], j["alg"], j["use"])
	}
}

func TestAPIKeyResultRefusals(t *testing.T) {
	k := testkey.Load(t, "rsa2048.pem", "kid-a")
	var fields map[string]string
	_ = json.Unmarshal(apiResult(t, k), &fields)
	for name, data := range map[string]string{
		"id differs from kid": `{"id":"kid-b","jwk":"` + fields["jwk"] + `"}`,
		"pem not base64":      `{"id":"k","pem":"!!"}`,
		"jwk not base64":      `{"id":"k","jwk":"!!"}`,
		"pem of a JWK":        `{"id":"k","pem":"` + fields["jwk"] + `"}`,
		"jwk of a PEM":        `{"id":"k","jwk":"` + fields["pem"] + `"}`,
		"neither":             `{"id":"k","created":"2026-11-29T08:00:00Z"}`,
		"a bad id":            `{"id":"a b","pem":"` + fields["pem"] + `"}`,
		"nested twice":        `{"result":{"result":` + string(apiResult(t, k)) + `}}`,
		"not JSON":            `{"id":`,
	} {
		if _, err := token.ParseKey([]byte(data)); !errors.Is(err, token.ErrKeyFormat) {
			t.Errorf("ParseKey(%s) = %v, want ErrKeyFormat", name, err)
		} else if strings.Contains(err.Error(), fields["pem"][40:80]) {
			t.Errorf("ParseKey(%s) error holds key material", name)
		}
	}
	pub := &token.Key{ID: "p", Public: k.Public}
	if _, err := pub.PrivatePEM(); !errors.Is(err, token.ErrNotPrivate) {
		t.Errorf("PrivatePEM(public) = %v", err)
	}
	if _, err := pub.PrivateJWK(); !errors.Is(err, token.ErrNotPrivate) {
		t.Errorf("PrivateJWK(public) = %v", err)
	}
}
