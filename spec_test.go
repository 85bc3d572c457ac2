package streamtoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/openapi"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

const (
	specPath     = "openapi/stream-token.yaml"
	tokenPath    = "/accounts/{account_id}/stream/{identifier}/token"
	referenceDir = "../shared/reference"
	officialSpec = "cloudflare-stream-tokens-official-excerpt.json"
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("loading %s: %v", specPath, err)
	}
	return doc
}

func TestSpecIsValid(t *testing.T) {
	doc := loadSpec(t)
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("Validate(%s) = %v, want nil", specPath, err)
	}
	op := doc.Paths.Find(tokenPath)
	if op == nil || op.Post == nil {
		t.Fatalf("%s has no POST %s", specPath, tokenPath)
	}
	if got, want := op.Post.OperationID, "createStreamToken"; got != want {
		t.Errorf("operationId = %q, want %q", got, want)
	}
	if op.Post.RequestBody.Value.Required {
		t.Error("request body is required, want optional (an absent body means defaults)")
	}
}

// Package openapi must serve the file as written and load it to the same
// document as the file on disk.
func TestEmbeddedSpecIsTheFile(t *testing.T) {
	file, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(openapi.YAML()) != string(file) {
		t.Error("openapi.YAML() differs from openapi/stream-token.yaml")
	}
	embedded, err := openapi.Load()
	if err != nil {
		t.Fatalf("openapi.Load() error = %v", err)
	}
	a, _ := json.Marshal(embedded)
	b, _ := json.Marshal(loadSpec(t))
	if string(a) != string(b) {
		t.Error("openapi.Load() differs from loading openapi/stream-token.yaml")
	}
}

// exampleCheck is one example found in the spec, with the schema it must fit.
type exampleCheck struct {
	where  string
	schema *openapi3.Schema
	value  any
}

// collectExamples walks a schema and its properties and items, collecting
// every example it declares.
func collectExamples(where string, ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool, out *[]exampleCheck) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if s.Example != nil {
		*out = append(*out, exampleCheck{where, s, s.Example})
	}
	for name, p := range s.Properties {
		collectExamples(where+"."+name, p, seen, out)
	}
	collectExamples(where+"[]", s.Items, seen, out)
}

func TestSpecExamplesFitTheirSchemas(t *testing.T) {
	doc := loadSpec(t)
	var checks []exampleCheck
	seen := map[*openapi3.Schema]bool{}
	for name, s := range doc.Components.Schemas {
		collectExamples("#/components/schemas/"+name, s, seen, &checks)
	}
	media := map[string]*openapi3.MediaType{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.RequestBody != nil {
				media[where+" request"] = op.RequestBody.Value.Content.Get("application/json")
			}
			for code, r := range op.Responses.Map() {
				media[where+" response "+code] = r.Value.Content.Get("application/json")
			}
		}
	}
	for where, mt := range media {
		if mt == nil {
			continue
		}
		for name, ex := range mt.Examples {
			checks = append(checks, exampleCheck{where + " example " + name, mt.Schema.Value, ex.Value.Value})
		}
	}
	// The spec has examples on the request (2), the success (2) and failure
	// (2) responses, and a dozen schemas and properties; far fewer means the
	// walk above stopped finding them.
	if len(checks) < 15 {
		t.Fatalf("found %d examples, want at least 15", len(checks))
	}
	for _, c := range checks {
		if err := c.schema.VisitJSON(c.value); err != nil {
			t.Errorf("%s: example does not fit its schema: %v", c.where, err)
		}
	}
}

// readOfficial loads one of Cloudflare's official schema excerpts (name,
// in the reference directory), which live beside the project's checkout
// but not in it: without them the test is skipped.
func readOfficial(t *testing.T, name string) *openapi3.T {
	t.Helper()
	path := filepath.Join(referenceDir, name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("official schema excerpt not found at %s (it is beside the project's own checkout only): %v", path, err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return doc
}

// Every example the official schema gives for the token request and its
// access rules must be a request body that our spec accepts.
func TestOfficialExamplesFitOurSpec(t *testing.T) {
	official := readOfficial(t, officialSpec)
	ours := loadSpec(t)
	request := ours.Components.Schemas["TokenRequest"].Value
	rule := ours.Components.Schemas["AccessRule"].Value

	req := official.Components.Schemas["stream_signed_token_request"].Value
	body := map[string]any{}
	for name, p := range req.Properties {
		if p.Value.Example != nil {
			body[name] = p.Value.Example
		}
	}
	for _, name := range []string{"id", "pem", "accessRules"} {
		if _, ok := body[name]; !ok {
			t.Fatalf("official request schema has no example for %q; the excerpt changed", name)
		}
	}
	if err := request.VisitJSON(body, openapi3.VisitAsRequest()); err != nil {
		t.Errorf("official request example rejected by TokenRequest: %v", err)
	}
	for i, r := range body["accessRules"].([]any) {
		if err := rule.VisitJSON(r, openapi3.VisitAsRequest()); err != nil {
			t.Errorf("official accessRules[%d] example rejected by AccessRule: %v", i, err)
		}
	}

	officialRule := official.Components.Schemas["stream_accessRules"].Value
	for _, field := range []string{"action", "type"} {
		ex := officialRule.Properties[field].Value.Example
		if err := rule.Properties[field].Value.VisitJSON(ex); err != nil {
			t.Errorf("official %s example %v rejected: %v", field, ex, err)
		}
	}

	// The official token example must be a result our response schema takes.
	resp := official.Components.Schemas["stream_signed_token_response"].Value
	var token any
	for _, part := range resp.AllOf {
		if r, ok := part.Value.Properties["result"]; ok && r.Value.Properties["token"] != nil {
			token = r.Value.Properties["token"].Value.Example
		}
	}
	envelope := map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": map[string]any{"token": token}}
	if err := ours.Components.Schemas["TokenResponse"].Value.VisitJSON(envelope); err != nil {
		t.Errorf("official token example rejected by TokenResponse: %v", err)
	}
}

// validateBody runs a request body through kin-openapi's request validator,
// as the server will, and returns its error.
func validateBody(t *testing.T, doc *openapi3.T, body string) error {
	t.Helper()
	item := doc.Paths.Find(tokenPath)
	req := httptest.NewRequest(http.MethodPost,
		"/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/stream/ea95132c15732412d22c1476fa83f27a/token",
		strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	input := &openapi3filter.RequestValidationInput{
		Request: req,
		PathParams: map[string]string{
			"account_id": "023e105f4ecef8ad9ca31a8372d0c353",
			"identifier": "ea95132c15732412d22c1476fa83f27a",
		},
		Route:   &routers.Route{Spec: doc, Path: tokenPath, PathItem: item, Method: http.MethodPost, Operation: item.Post},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	return openapi3filter.ValidateRequest(context.Background(), input)
}

// schemaViolations lists each schema violation inside err as
// "/json/pointer: reason", one a line.
func schemaViolations(err error) string {
	var lines []string
	var walk func(error)
	walk = func(err error) {
		var multi openapi3.MultiError
		var schemaErr *openapi3.SchemaError
		var reqErr *openapi3filter.RequestError
		switch {
		case errors.As(err, &multi):
			for _, e := range multi {
				walk(e)
			}
		case errors.As(err, &schemaErr):
			lines = append(lines, "/"+strings.Join(schemaErr.JSONPointer(), "/")+": "+schemaErr.Reason)
		case errors.As(err, &reqErr) && reqErr.Err != nil:
			walk(reqErr.Err)
		}
	}
	walk(err)
	return strings.Join(lines, "\n")
}

func TestSpecRejectsBadBodies(t *testing.T) {
	doc := loadSpec(t)
	tests := []struct {
		name      string
		body      string
		wantField string // what the error must name
	}{
		{name: "unknown field", body: `{"acessRules":[]}`, wantField: "acessRules"},
		{name: "unknown rule field", body: `{"accessRules":[{"type":"any","action":"block","countries":["US"]}]}`, wantField: "countries"},
		{name: "bad action", body: `{"accessRules":[{"type":"any","action":"deny"}]}`, wantField: "action"},
		{name: "bad type", body: `{"accessRules":[{"type":"ip.dst","action":"block"}]}`, wantField: "type"},
		{name: "3-letter country", body: `{"accessRules":[{"type":"ip.geoip.country","action":"block","country":["USA"]}]}`, wantField: "country"},
		{name: "exp as string", body: `{"exp":"1537460365"}`, wantField: "exp"},
		{name: "nbf as fraction", body: `{"nbf":1537453165.5}`, wantField: "nbf"},
		{name: "six rules", body: `{"accessRules":[{"type":"any","action":"allow"},{"type":"any","action":"allow"},{"type":"any","action":"allow"},{"type":"any","action":"allow"},{"type":"any","action":"allow"},{"type":"any","action":"allow"}]}`, wantField: "accessRules"},
		{name: "rule without action", body: `{"accessRules":[{"type":"any"}]}`, wantField: "action"},
		{name: "unknown flag", body: `{"flags":{"orignal":true}}`, wantField: "orignal"},
		{name: "downloadable as string", body: `{"downloadable":"yes"}`, wantField: "downloadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateBody(t, doc, tt.body)
			if err == nil {
				t.Fatalf("ValidateRequest(%s) = nil, want an error naming %q", tt.body, tt.wantField)
			}
			// The error text also dumps the whole schema, which names every
			// field; look only at what each violation itself says.
			violations := schemaViolations(err)
			if !strings.Contains(violations, tt.wantField) {
				t.Errorf("ValidateRequest(%s) violations = %q, want them to name %q", tt.body, violations, tt.wantField)
			}
		})
	}
}

func TestSpecAcceptsGoodBodies(t *testing.T) {
	doc := loadSpec(t)
	for _, body := range []string{
		``,
		`{}`,
		`{"exp":1537460365,"nbf":1537453165,"downloadable":true,"flags":{"original":true}}`,
		`{"id":"ab0d4ef71g4425f8dcba9041231813000","pem":"LS0t"}`,
		`{"accessRules":[{"type":"ip.geoip.country","action":"block","country":["US","MX"]},{"type":"ip.src","action":"allow","ip":["93.184.216.0/24","2400:cb00::/32"]},{"type":"any","action":"block"}]}`,
	} {
		if err := validateBody(t, doc, body); err != nil {
			t.Errorf("ValidateRequest(%q) = %v, want nil", body, err)
		}
	}
}

// The generated types must put the same JSON on the wire as the spec's
// request example: field names and enum strings as Cloudflare spells them.
func TestGeneratedTypesMatchTheWire(t *testing.T) {
	exp := int64(1537460365)
	downloadable := true
	req := gen.TokenRequest{
		Exp:          &exp,
		Downloadable: &downloadable,
		AccessRules: []gen.AccessRule{
			{Type: gen.AccessRuleTypeIPGeoIPCountry, Action: gen.AccessRuleActionBlock, Country: []string{"US", "MX"}},
			{Type: gen.AccessRuleTypeIPSrc, Action: gen.AccessRuleActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
			{Type: gen.AccessRuleTypeAny, Action: gen.AccessRuleActionBlock},
		},
	}
	got, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	doc := loadSpec(t)
	want := doc.Paths.Find(tokenPath).Post.RequestBody.Value.Content.Get("application/json").Examples["accessRules"].Value.Value
	var gotValue any
	if err := json.Unmarshal(got, &gotValue); err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	var wantValue any
	_ = json.Unmarshal(wantJSON, &wantValue)
	if !reflect.DeepEqual(gotValue, wantValue) {
		t.Errorf("json.Marshal(gen.TokenRequest) = %s, want %s", got, wantJSON)
	}
	var failure gen.FailureResponse
	if err := json.Unmarshal([]byte(`{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}`), &failure); err != nil {
		t.Fatalf("decoding a failure envelope: %v", err)
	}
	if failure.Success || len(failure.Errors) != 1 || failure.Errors[0].Code != 10000 {
		t.Errorf("decoded failure = %+v", failure)
	}
}

const keysSpec = "cloudflare-stream-keys-official-excerpt.json"

// The keys operations are the official ones: the same paths, methods,
// parameters and security, and each side's examples fit the other's
// schemas.
func TestKeysOperationsMatchTheOfficialOnes(t *testing.T) {
	official := readOfficial(t, keysSpec)
	ours := loadSpec(t)
	for _, mine := range sameOperations(t, official, ours, []operation{
		{"/accounts/{account_id}/stream/keys", http.MethodGet, nil},
		{"/accounts/{account_id}/stream/keys", http.MethodPost, nil},
		{"/accounts/{account_id}/stream/keys/{identifier}", http.MethodDelete, nil},
	}) {
		if mine.RequestBody != nil && mine.RequestBody.Value.Required {
			t.Errorf("%s: a required body; an empty one must do", mine.OperationID)
		}
	}

	schema := func(doc *openapi3.T, name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	example := func(name string) any { return schema(official, name).Example }
	// The official key example, whole, is a key our schema takes.
	created := schema(official, "stream_signing_key_created").Example
	key := map[string]any{"id": schema(official, "stream_schemas-identifier").Example, "pem": example("stream_pem"), "jwk": example("stream_jwk"), "created": created}
	envelope := func(result any) map[string]any {
		return map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": result}
	}
	checks := []struct {
		what         string
		value        any
		ours, theirs string
	}{
		{"a created key", envelope(key), "SigningKeyResponse", "stream_key_generation_response"},
		{"a list (2024: no key_id)", envelope([]any{map[string]any{"id": key["id"], "created": created}}), "SigningKeyListResponse", "stream_key_response_collection"},
		{"a list (2026: key_id)", envelope([]any{map[string]any{"id": key["id"], "key_id": key["id"], "created": created}}), "SigningKeyListResponse", "stream_key_response_collection"},
		{"a deletion", envelope("ok"), "DeletedResponse", "stream_deleted_response"},
	}
	// Our own examples go the other way.
	keysItem := ours.Paths.Find("/accounts/{account_id}/stream/keys")
	for _, o := range []struct {
		op           *openapi3.Operation
		ours, theirs string
	}{
		{keysItem.Get, "SigningKeyListResponse", "stream_key_response_collection"},
		{keysItem.Post, "SigningKeyResponse", "stream_key_generation_response"},
		{ours.Paths.Find("/accounts/{account_id}/stream/keys/{identifier}").Delete, "DeletedResponse", "stream_deleted_response"},
	} {
		examples := o.op.Responses.Status(200).Value.Content.Get("application/json").Examples
		if len(examples) == 0 {
			t.Errorf("%s: no example of the answer", o.ours)
		}
		for name, ex := range examples {
			checks = append(checks, struct {
				what         string
				value        any
				ours, theirs string
			}{"our example " + name, ex.Value.Value, o.ours, o.theirs})
		}
	}
	for _, c := range checks {
		if err := schema(ours, c.ours).VisitJSON(c.value); err != nil {
			t.Errorf("%s: rejected by our %s: %v", c.what, c.ours, err)
		}
		if err := schema(official, c.theirs).VisitJSON(c.value); err != nil {
			t.Errorf("%s: rejected by the official %s: %v", c.what, c.theirs, err)
		}
	}
}

type operation struct {
	path, method string
	// newer are the parameters ours has beyond the official excerpt's,
	// which newer official SDKs send.
	newer []string
}

// sameOperations checks that ours has each operation of official with
// the same parameters, a 200 and a 4XX answer, and security; it returns
// ours.
func sameOperations(t *testing.T, official, ours *openapi3.T, ops []operation) []*openapi3.Operation {
	t.Helper()
	var out []*openapi3.Operation
	for _, op := range ops {
		theirs := official.Paths.Find(op.path).GetOperation(op.method)
		mine := ours.Paths.Find(op.path).GetOperation(op.method)
		if theirs == nil || mine == nil {
			t.Fatalf("%s %s: official %v, ours %v", op.method, op.path, theirs != nil, mine != nil)
		}
		params := func(o *openapi3.Operation) []string {
			var out []string
			for _, p := range o.Parameters {
				out = append(out, p.Value.In+":"+p.Value.Name)
			}
			slices.Sort(out)
			return out
		}
		want := slices.Sorted(slices.Values(append(params(theirs), op.newer...)))
		if !slices.Equal(want, params(mine)) {
			t.Errorf("%s %s: parameters %v, official %v (and newer %v)", op.method, op.path, params(mine), params(theirs), op.newer)
		}
		if mine.Responses.Status(200) == nil || mine.Responses.Map()["4XX"] == nil {
			t.Errorf("%s %s: want a 200 and a 4XX answer, as the official", op.method, op.path)
		}
		if mine.Security == nil || len(*mine.Security) == 0 {
			t.Errorf("%s %s: no security", op.method, op.path)
		}
		out = append(out, mine)
	}
	return out
}

const mediaSpec = "cloudflare-stream-video-security-official-excerpt.json"

// The video and live-input operations are the official ones, and the
// bodies and answers of each side fit the other's schemas.
func TestMediaOperationsMatchTheOfficialOnes(t *testing.T) {
	official := readOfficial(t, mediaSpec)
	ours := loadSpec(t)
	sameOperations(t, official, ours, []operation{
		{"/accounts/{account_id}/stream/{identifier}", http.MethodGet, nil},
		{"/accounts/{account_id}/stream/{identifier}", http.MethodPost, nil},
		{"/accounts/{account_id}/stream/live_inputs/{live_input_identifier}", http.MethodGet, nil},
		{"/accounts/{account_id}/stream/live_inputs/{live_input_identifier}", http.MethodPut, nil},
	})
	schema := func(doc *openapi3.T, name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	example := func(name string) any { return schema(official, name).Example }

	// Each field the official edit bodies name is a field of ours, and
	// a body of their examples fits our schema.
	for _, pair := range [][2]string{{"stream_video_update", "VideoEdit"}, {"stream_update_input_request", "LiveInputUpdate"},
		{"stream_live_input_recording_settings", "LiveInputRecording"}} {
		for name := range schema(official, pair[0]).Properties {
			if schema(ours, pair[1]).Properties[name] == nil {
				t.Errorf("our %s lacks the official %s's field %q", pair[1], pair[0], name)
			}
		}
	}
	edit := map[string]any{
		"allowedOrigins": example("stream_allowedOrigins"), "creator": example("stream_creator"),
		"meta": example("stream_media_metadata"), "requireSignedURLs": example("stream_requireSignedURLs"),
		"scheduledDeletion": example("stream_scheduledDeletion"), "thumbnailTimestampPct": example("stream_thumbnailTimestampPct"),
		"uploadExpiry": example("stream_oneTimeUploadExpiry"), "maxDurationSeconds": 300,
	}
	update := map[string]any{"recording": example("stream_live_input_recording_settings"),
		"deleteRecordingAfterDays": example("stream_live_input_recording_deletion"), "meta": example("stream_live_input_metadata")}
	for _, c := range []struct {
		what, ours, theirs string
		value              any
	}{
		{"the official edit's examples", "VideoEdit", "stream_video_update", edit},
		{"the official live-input update's examples", "LiveInputUpdate", "stream_update_input_request", update},
	} {
		if err := schema(ours, c.ours).VisitJSON(c.value); err != nil {
			t.Errorf("%s: rejected by our %s: %v", c.what, c.ours, err)
		}
		if err := schema(official, c.theirs).VisitJSON(c.value); err != nil {
			t.Errorf("%s: rejected by the official %s: %v", c.what, c.theirs, err)
		}
	}
	// Our examples of answers and of bodies fit the official schemas.
	videoItem := ours.Paths.Find("/accounts/{account_id}/stream/{identifier}")
	inputItem := ours.Paths.Find("/accounts/{account_id}/stream/live_inputs/{live_input_identifier}")
	for _, o := range []struct {
		op     *openapi3.Operation
		theirs string
	}{
		{videoItem.Get, "stream_video_response_single"}, {videoItem.Post, "stream_video_response_single"},
		{inputItem.Get, "stream_live_input_response_single"}, {inputItem.Put, "stream_live_input_response_single"},
	} {
		for name, ex := range o.op.Responses.Status(200).Value.Content.Get("application/json").Examples {
			if err := schema(official, o.theirs).VisitJSON(toJSONValue(t, ex.Value.Value)); err != nil {
				t.Errorf("%s: our example %s rejected by the official %s: %v", o.op.OperationID, name, o.theirs, err)
			}
		}
	}
	for _, o := range []struct {
		op     *openapi3.Operation
		theirs string
	}{{videoItem.Post, "stream_video_update"}, {inputItem.Put, "stream_update_input_request"}} {
		for name, ex := range o.op.RequestBody.Value.Content.Get("application/json").Examples {
			if err := schema(official, o.theirs).VisitJSON(toJSONValue(t, ex.Value.Value)); err != nil {
				t.Errorf("%s: our body example %s rejected by the official %s: %v", o.op.OperationID, name, o.theirs, err)
			}
		}
	}
}

// The token server's own answers fit the official schemas.
func TestMediaAnswersFitTheOfficialSchemas(t *testing.T) {
	official := readOfficial(t, mediaSpec)
	srv := streamtokentest.NewServer()
	defer srv.Close()
	base := srv.URL + "/accounts/" + testAccount + "/stream/"
	for _, c := range []struct{ method, path, body, theirs string }{
		{http.MethodGet, testVideo, "", "stream_video_response_single"},
		{http.MethodPost, testVideo, `{"requireSignedURLs":true,"allowedOrigins":["example.com"],"creator":"c","meta":{"a":"b"},"maxDurationSeconds":60,"scheduledDeletion":"2030-01-02T02:20:00Z","thumbnailTimestampPct":0.5,"uploadExpiry":"2030-01-02T02:20:00Z"}`, "stream_video_response_single"},
		{http.MethodGet, "live_inputs/in1", "", "stream_live_input_response_single"},
		{http.MethodPut, "live_inputs/in1", `{"recording":{"mode":"automatic","requireSignedURLs":true,"allowedOrigins":["example.com"],"timeoutSeconds":10},"deleteRecordingAfterDays":45,"meta":{"a":"b"}}`, "stream_live_input_response_single"},
	} {
		answerFits(t, srv, official, c.method, base+c.path, c.body, c.theirs)
	}
}

// toJSONValue is v as encoding/json decodes it into an any: the form
// kin-openapi validates.
func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

const listSpec = "cloudflare-stream-list-upload-webhook-official-excerpt.json"

// The list and direct-upload operations are the official ones (with the
// newer SDKs' query parameters), the official request fits ours, and our
// examples and answers fit the official schemas.
func TestListAndUploadOperationsMatchTheOfficialOnes(t *testing.T) {
	official := readOfficial(t, listSpec)
	ours := loadSpec(t)
	sameOperations(t, official, ours, []operation{
		{"/accounts/{account_id}/stream", http.MethodGet, []string{"query:after", "query:before", "query:id", "query:limit", "query:live_input_id", "query:name", "query:video_name"}},
		{"/accounts/{account_id}/stream/live_inputs", http.MethodGet, nil},
		{"/accounts/{account_id}/stream/direct_upload", http.MethodPost, nil},
	})
	schema := func(doc *openapi3.T, name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	for name := range schema(official, "stream_direct_upload_request").Properties {
		if schema(ours, "DirectUploadRequest").Properties[name] == nil {
			t.Errorf("our DirectUploadRequest lacks the official field %q", name)
		}
	}
	example := func(name string) any { return schema(official, name).Example }
	body := map[string]any{"maxDurationSeconds": 300, "allowedOrigins": example("stream_allowedOrigins"), "creator": example("stream_creator"),
		"meta": example("stream_media_metadata"), "requireSignedURLs": true, "scheduledDeletion": example("stream_scheduledDeletion"),
		"thumbnailTimestampPct": example("stream_thumbnailTimestampPct"), "expiry": "2030-01-02T02:20:00Z",
		"watermark": map[string]any{"uid": "ea95132c15732412d22c1476fa83f27a"}}
	for _, s := range []struct {
		doc  *openapi3.T
		name string
	}{{ours, "DirectUploadRequest"}, {official, "stream_direct_upload_request"}} {
		if err := schema(s.doc, s.name).VisitJSON(toJSONValue(t, body)); err != nil {
			t.Errorf("a direct upload of every official field: rejected by %s: %v", s.name, err)
		}
	}
	for _, o := range []struct{ path, method, theirs string }{
		{"/accounts/{account_id}/stream", http.MethodGet, "stream_video_response_collection"},
		{"/accounts/{account_id}/stream/live_inputs", http.MethodGet, "stream_live_input_response_collection"},
		{"/accounts/{account_id}/stream/direct_upload", http.MethodPost, "stream_direct_upload_response"},
	} {
		op := ours.Paths.Find(o.path).GetOperation(o.method)
		for name, ex := range op.Responses.Status(200).Value.Content.Get("application/json").Examples {
			if err := schema(official, o.theirs).VisitJSON(toJSONValue(t, ex.Value.Value)); err != nil {
				t.Errorf("%s: our example %s rejected by the official %s: %v", op.OperationID, name, o.theirs, err)
			}
		}
	}

	// The server's own answers.
	srv := streamtokentest.NewServer(streamtokentest.WithLiveInputs("in1"))
	defer srv.Close()
	base := srv.URL + "/accounts/" + testAccount + "/stream"
	for _, c := range []struct{ method, path, body, theirs string }{
		{http.MethodPost, "/direct_upload", `{"maxDurationSeconds":60,"requireSignedURLs":true,"allowedOrigins":["example.com"],"meta":{"name":"a.mp4"}}`, "stream_direct_upload_response"},
		{http.MethodGet, "?include_counts=true", "", "stream_video_response_collection"},
		{http.MethodGet, "/live_inputs?include_counts=true", "", "stream_live_input_response_collection"},
	} {
		answerFits(t, srv, official, c.method, base+c.path, c.body, c.theirs)
	}
}

// The webhook's operations are the official ones; the official request
// fits ours; our examples and the server's answers fit the official
// schemas, and carry the fields the docs and the SDKs read (the official
// result is an untyped object).
func TestWebhookOperationsMatchTheOfficialOnes(t *testing.T) {
	official := readOfficial(t, listSpec)
	ours := loadSpec(t)
	const path = "/accounts/{account_id}/stream/webhook"
	sameOperations(t, official, ours, []operation{
		{path, http.MethodGet, nil},
		{path, http.MethodPut, nil},
		{path, http.MethodDelete, nil},
	})
	schema := func(doc *openapi3.T, name string) *openapi3.Schema { return doc.Components.Schemas[name].Value }
	for name := range schema(official, "stream_webhook_request").Properties {
		if schema(ours, "WebhookRequest").Properties[name] == nil {
			t.Errorf("our WebhookRequest lacks the official field %q", name)
		}
	}
	body := map[string]any{"notificationUrl": schema(official, "stream_notificationUrl").Example}
	for _, s := range []struct {
		doc  *openapi3.T
		name string
	}{{ours, "WebhookRequest"}, {official, "stream_webhook_request"}} {
		if err := schema(s.doc, s.name).VisitJSON(toJSONValue(t, body)); err != nil {
			t.Errorf("the official example request: rejected by %s: %v", s.name, err)
		}
	}
	for _, o := range []struct{ method, theirs string }{{http.MethodGet, "stream_webhook_response_single"}, {http.MethodPut, "stream_webhook_response_single"}, {http.MethodDelete, "stream_deleted_response"}} {
		op := ours.Paths.Find(path).GetOperation(o.method)
		for name, ex := range op.Responses.Status(200).Value.Content.Get("application/json").Examples {
			if err := schema(official, o.theirs).VisitJSON(toJSONValue(t, ex.Value.Value)); err != nil {
				t.Errorf("%s: our example %s rejected by the official %s: %v", op.OperationID, name, o.theirs, err)
			}
		}
	}

	srv := streamtokentest.NewServer()
	defer srv.Close()
	url := srv.URL + gen.SetWebhookPath(testAccount)
	answerFits(t, srv, official, http.MethodPut, url, `{"notificationUrl":"https://example.com/hook"}`, "stream_webhook_response_single")
	answerFits(t, srv, official, http.MethodGet, url, "", "stream_webhook_response_single")
	answerFits(t, srv, official, http.MethodDelete, url, "", "stream_deleted_response")

	// Our client's request fits the official schema, and it reads an
	// answer shaped as the docs' example (notificationUrl alone).
	var sent []byte
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":{"notificationUrl":"http://www.your-service-webhook-handler.com","modified":"2019-01-01T01:02:21.076571Z","secret":"85011ed3a913c6ad5f9cf6c5573cc0a7"}}`)
	}))
	defer docs.Close()
	c, err := streamtoken.NewClient(streamtoken.WithBaseURL(docs.URL), streamtoken.WithAPIToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.SetWebhook(context.Background(), testAccount, "http://www.your-service-webhook-handler.com")
	if err != nil || w.NotificationURL != "http://www.your-service-webhook-handler.com" || w.Secret.Reveal() != "85011ed3a913c6ad5f9cf6c5573cc0a7" || w.Modified.IsZero() {
		t.Errorf("SetWebhook() against the docs' answer = %v, %v", w, err)
	}
	var clientBody any
	if err := json.Unmarshal(sent, &clientBody); err != nil {
		t.Fatalf("the client's body %q: %v", sent, err)
	}
	if err := schema(official, "stream_webhook_request").VisitJSON(clientBody); err != nil {
		t.Errorf("the client's request %s breaks the official stream_webhook_request: %v", sent, err)
	}
}

// answerFits sends a request to srv as its API token, and checks that the
// 200 answer fits the official schema named theirs.
func answerFits(t *testing.T, srv *streamtokentest.Server, official *openapi3.T, method, url, body, theirs string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer any
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s = %d, %v", method, url, resp.StatusCode, err)
	}
	if err := official.Components.Schemas[theirs].Value.VisitJSON(answer); err != nil {
		t.Errorf("%s %s: the answer breaks the official %s: %v", method, url, theirs, err)
	}
}

// make check-spec passes the spec against its published baseline, and
// fails a copy that breaks clients: a field of an answer made optional, an
// enum value dropped.
func TestCheckSpecFailsOnABreakingChange(t *testing.T) {
	if testing.Short() {
		t.Skip("builds oasdiff (tools/go.mod); not with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash to run scripts/check-spec")
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command("bash", append([]string{"scripts/check-spec"}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := run(); err != nil {
		t.Fatalf("check-spec on the spec: %v\n%s", err, out)
	}
	spec, err := os.ReadFile("openapi/stream-token.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(strings.Replace(string(spec), "enum: [vod, live]", "enum: [vod]", 1),
		"      required: [uid, uploadURL]\n", "      required: [uid]\n", 1)
	if broken == string(spec) {
		t.Fatal("the breaking edits found nothing to change in the spec")
	}
	path := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(path)
	if err == nil || !strings.Contains(out, "request-parameter-enum-value-removed") || !strings.Contains(out, "response-property-became-optional") {
		t.Errorf("check-spec on a breaking copy: %v\n%s; want a failure naming both changes", err, out)
	}
	// A request property removed is a warning to oasdiff, and a break to
	// old clients of a closed body: it fails too.
	i := strings.Index(string(spec), "    TokenRequest:")
	if i < 0 {
		t.Fatal("TokenRequest not found in the spec")
	}
	property := regexp.MustCompile(`(?m)^        downloadable:\n(?:          .*\n)+`)
	loc := property.FindStringIndex(string(spec)[i:])
	if loc == nil {
		t.Fatal("TokenRequest's downloadable not found in the spec")
	}
	removed := string(spec)[:i+loc[0]] + string(spec)[i+loc[1]:]
	if err := os.WriteFile(path, []byte(removed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(path); err == nil || !strings.Contains(out, "downloadable") {
		t.Errorf("check-spec with TokenRequest's downloadable removed: %v\n%s; want a failure naming it", err, out)
	}
}
