package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
)

// A token request is one span named by its route template, with the
// signing queue's wait, the signature and the store calls as its
// children, account and operation as attributes, and no secret anywhere;
// its log line carries the trace ID.
func TestTracesOfATokenRequest(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var logs bytes.Buffer
	base, _ := start(t, server.Config{TracerProvider: tp, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	r := post(t, base, `{}`)
	if r.Status != 200 {
		t.Fatalf("token: %d %s", r.Status, r.Raw)
	}
	spans := exp.GetSpans()
	var op *tracetest.SpanStub
	for i := range spans {
		if spans[i].Name == "POST /client/v4/accounts/{account_id}/stream/{identifier}/token" {
			op = &spans[i]
		}
	}
	if op == nil {
		t.Fatalf("no span named by the route template among %v", names(spans))
	}
	attrs := map[string]string{}
	for _, a := range op.Attributes {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["streamtoken.account"] != account || attrs["streamtoken.operation"] != "CreateStreamToken" || attrs["http.route"] == "" {
		t.Errorf("the operation's attributes = %v", attrs)
	}
	for _, s := range spans { // the trace, for the reader of -v
		t.Logf("span %-70q %8v parent %s", s.Name, s.EndTime.Sub(s.StartTime).Round(time.Microsecond), s.Parent.SpanID())
	}
	children := map[string]bool{}
	for _, s := range spans {
		if s.Parent.SpanID() == op.SpanContext.SpanID() {
			children[s.Name] = true
		}
	}
	for _, want := range []string{"signing queue wait", "sign"} {
		if !children[want] {
			t.Errorf("no child span %q of the operation's; children %v", want, children)
		}
	}
	// No secret in any span: the token, the API token.
	tok := r.Env.Result.Token
	for _, s := range spans {
		for _, a := range s.Attributes {
			v := a.Value.String()
			if (tok != "" && strings.Contains(v, tok)) || strings.Contains(v, apiToken) {
				t.Errorf("span %q attribute %s holds a secret", s.Name, a.Key)
			}
		}
	}
	if want := "trace_id=" + op.SpanContext.TraceID().String(); !strings.Contains(logs.String(), want) {
		t.Errorf("the request's log line lacks %s:\n%s", want, logs.String())
	}
}

// A video edit's store calls, in the stand-in the server mounts, are
// children of its span.
func TestTracesOfStoreCalls(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	base, _ := start(t, server.Config{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)), Media: &standin.Service{}})
	h := append(bearer(apiToken), "Content-Type", "application/json")
	if r := do(t, http.MethodPost, base+server.BasePath+gen.EditVideoPath(account, video), strings.NewReader(`{"requireSignedURLs":true}`), h...); r.Status != 200 {
		t.Fatal(r.Raw)
	}
	spans := exp.GetSpans()
	var opID string
	for _, s := range spans {
		if s.Name == "POST /client/v4/accounts/{account_id}/stream/{identifier}" {
			opID = s.SpanContext.SpanID().String()
		}
	}
	found := false
	for _, s := range spans {
		if s.Name == "store.EditMedia" && s.Parent.SpanID().String() == opID {
			found = true
		}
	}
	if opID == "" || !found {
		t.Errorf("want store.EditMedia under the edit's span; spans %v", names(spans))
	}
}

// The client's requests carry the caller's trace when its http.Client is
// instrumented: the server's span is a child of the client's.
func TestClientPropagatesTheTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	base, _ := start(t, server.Config{TracerProvider: tp})
	hc := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}))}
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(apiToken), streamtoken.WithBaseURL(base+server.BasePath), streamtoken.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "caller")
	_, err = c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range exp.GetSpans() {
		if strings.HasPrefix(s.Name, "POST /client/v4/") && s.SpanContext.TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("the server's span is of trace %s, not the caller's %s", s.SpanContext.TraceID(), parent.SpanContext().TraceID())
		}
	}
}

// Without a TracerProvider there is no tracing at all: no trace ID in the
// log.
func TestNoTracingByDefault(t *testing.T) {
	var logs bytes.Buffer
	base, _ := start(t, server.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	post(t, base, `{}`)
	if strings.Contains(logs.String(), "trace_id") {
		t.Errorf("a trace ID without tracing:\n%s", logs.String())
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// An upload URL's path holds its capability, a secret: the stand-in
// mounts its route as one (Mount.HandleSecretPath), so an upload is not
// traced and no span records it.
func TestUploadsAreNotTraced(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	base, _ := start(t, server.Config{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)), Media: &standin.Service{}})
	r := do(t, http.MethodPost, base+server.BasePath+gen.CreateDirectUploadPath(account), strings.NewReader(`{"maxDurationSeconds":60}`),
		append(bearer(apiToken), "Content-Type", "application/json")...)
	var up struct {
		Result struct {
			UploadURL string `json:"uploadURL"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &up); err != nil || up.Result.UploadURL == "" {
		t.Fatalf("direct upload: %d %s", r.Status, r.Raw)
	}
	capability := up.Result.UploadURL[strings.LastIndexByte(up.Result.UploadURL, '/')+1:]
	if r := do(t, http.MethodPost, up.Result.UploadURL, strings.NewReader("video")); r.Status != 200 {
		t.Fatalf("upload: %d %s", r.Status, r.Raw)
	}
	for _, s := range exp.GetSpans() {
		for _, a := range append(s.Attributes, attribute.String("name", s.Name)) {
			if strings.Contains(a.Value.String(), capability) {
				t.Errorf("span %q records the upload URL's capability in %s", s.Name, a.Key)
			}
		}
	}
}
