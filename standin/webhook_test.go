package standin_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/webhook"
)

const hookVideo = "ea95132c15732412d22c1476fa83f27a"

// PUT takes either name of the URL, answers both, and refuses what no
// notification could be sent to, naming the field.
func TestWebhookOperations(t *testing.T) {
	base, _ := start(t, &standin.Service{})
	url := base + "/client/v4" + gen.SetWebhookPath(account)
	put := func(body string) response {
		return do(t, http.MethodPut, url, strings.NewReader(body), append(bearer(apiToken), "Content-Type", "application/json")...)
	}
	if r := do(t, http.MethodGet, url, nil, bearer(apiToken)...); r.Status != 404 || r.Env.Errors[0].Code != 1022 {
		t.Errorf("GET without a webhook = %d %s", r.Status, r.Raw)
	}
	var secrets []string
	for _, body := range []string{
		`{"notificationUrl":"https://example.com/hook"}`,
		`{"notification_url":"https://example.com/hook"}`,
		`{"notificationUrl":"https://example.com/hook","notification_url":"https://example.com/hook"}`,
	} {
		r := put(body)
		var env struct{ Result map[string]any }
		_ = json.Unmarshal([]byte(r.Raw), &env)
		if r.Status != 200 || env.Result["notificationUrl"] != "https://example.com/hook" || env.Result["notification_url"] != "https://example.com/hook" || env.Result["modified"] == nil {
			t.Errorf("PUT %s = %d %s", body, r.Status, withoutSecret(r.Raw))
		}
		secret, _ := env.Result["secret"].(string)
		if len(secret) != 32 {
			t.Errorf("PUT %s: secret %q, want 32 hex digits", body, secret)
		}
		secrets = append(secrets, secret)
	}
	if secrets[0] == secrets[1] || secrets[1] == secrets[2] {
		t.Error("a PUT kept the secret: each makes a new one")
	}
	if r := do(t, http.MethodGet, url, nil, bearer(apiToken)...); r.Status != 200 || !strings.Contains(r.Raw, secrets[2]) {
		t.Errorf("GET = %d; want the last secret", r.Status)
	}
	for body, pointer := range map[string]string{
		`{}`: "/notificationUrl",
		`{"notificationUrl":"https://a.example/","notification_url":"https://b.example/"}`: "/notification_url",
		`{"notificationUrl":"ftp://example.com/hook"}`:                                     "/notificationUrl",
		`{"notification_url":"https://user:pw@example.com/hook"}`:                          "/notification_url",
		`{"notificationUrl":"http://localhost:8080/hook"}`:                                 "/notificationUrl",
		`{"notificationUrl":"http://127.0.0.1:8080/hook"}`:                                 "/notificationUrl",
		`{"notificationUrl":"http://[::1]/hook"}`:                                          "/notificationUrl",
		`{"notificationUrl":"https://10.1.2.3/hook"}`:                                      "/notificationUrl",
		`{"notificationUrl":"https://169.254.169.254/latest"}`:                             "/notificationUrl",
		`{"notificationUrl":"https://example.com/` + strings.Repeat("x", 2048) + `"}`:      "/notificationUrl",
		`{"notificationUrl":"https://example.com/hook","secret":"mine"}`:                   "/secret",
	} {
		if r := put(body); r.Status != 400 || len(r.pointers()) == 0 || r.pointers()[0] != pointer {
			t.Errorf("PUT %.80s = %d %v; want a 400 at %s", body, r.Status, r.pointers(), pointer)
		}
	}
	for _, body := range []string{"", "{}", "null"} {
		if r := do(t, http.MethodDelete, url, strings.NewReader(body), append(bearer(apiToken), "Content-Type", "application/json")...); r.Status != 200 {
			t.Errorf("DELETE with body %q = %d %s", body, r.Status, r.Raw)
		}
		put(`{"notificationUrl":"https://example.com/hook"}`)
	}
	do(t, http.MethodDelete, url, nil, bearer(apiToken)...)
	if r := do(t, http.MethodDelete, url, nil, bearer(apiToken)...); r.Status != 404 || r.Env.Errors[0].Code != 1022 {
		t.Errorf("DELETE without a webhook = %d %s", r.Status, r.Raw)
	}
	if r := do(t, http.MethodGet, base+"/client/v4"+gen.SetWebhookPath(otherAcct), nil, bearer(scoped)...); r.Status != 404 {
		t.Errorf("another account's GET = %d: accounts are apart", r.Status)
	}
}

// withoutSecret is an answer with its webhook secret cut out: test output
// shows none.
func withoutSecret(raw string) string {
	return regexp.MustCompile(`"secret":"[^"]*"`).ReplaceAllString(raw, `"secret":"[redacted]"`)
}

// receiver is a webhook receiver on loopback that verifies each
// notification with the secret it is given.
type receiver struct {
	mu     sync.Mutex
	secret webhook.Secret
	got    []*webhook.Notification
	fail   int // answer 500 to the next fail notifications
	ts     *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	h := func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		secret, fail := r.secret, r.fail > 0
		if fail {
			r.fail--
		}
		r.mu.Unlock()
		if fail {
			http.Error(w, "not now", 500)
			return
		}
		webhook.Handler(secret, func(_ context.Context, n *webhook.Notification) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.got = append(r.got, n)
			return nil
		}).ServeHTTP(w, req)
	}
	r.ts = httptest.NewServer(http.HandlerFunc(h))
	t.Cleanup(r.ts.Close)
	return r
}

func (r *receiver) notifications() []*webhook.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*webhook.Notification(nil), r.got...)
}

// setWebhook sets account's webhook through the API and gives the
// receiver its secret.
func setWebhook(t testing.TB, base string, r *receiver) {
	t.Helper()
	resp := do(t, http.MethodPut, base+"/client/v4"+gen.SetWebhookPath(account), strings.NewReader(`{"notificationUrl":"`+r.ts.URL+`/hook"}`),
		append(bearer(apiToken), "Content-Type", "application/json")...)
	var env struct{ Result struct{ Secret string } }
	if resp.Status != 200 || json.Unmarshal([]byte(resp.Raw), &env) != nil {
		t.Fatalf("PUT webhook = %d %s", resp.Status, withoutSecret(resp.Raw))
	}
	r.mu.Lock()
	r.secret = webhook.Secret(env.Result.Secret)
	r.mu.Unlock()
}

func waitDeliveries(t *testing.T, ms *standin.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ms.WebhookDeliveries().Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// A video made ready, or failed, is notified, signed with the webhook's
// secret; a receiver that fails is tried again.
func TestWebhookDeliveries(t *testing.T) {
	ms := &standin.Service{Deliveries: &standin.Deliveries{AllowPrivate: true, Backoff: 10 * time.Millisecond}}
	base, _ := start(t, ms)
	r := newReceiver(t)
	// Before any webhook: nothing is sent.
	if err := ms.SetVideoStatus(context.Background(), account, hookVideo, gen.VideoStatus{State: gen.VideoStateReady}); err != nil {
		t.Fatal(err)
	}
	setWebhook(t, base, r)
	r.mu.Lock()
	r.fail = 2
	r.mu.Unlock()
	if err := ms.SetVideoStatus(context.Background(), account, hookVideo, gen.VideoStatus{State: gen.VideoStateReady}); err != nil {
		t.Fatal(err)
	}
	code, text := "ERR_NON_VIDEO", "The upload is not a video"
	if err := ms.SetVideoStatus(context.Background(), account, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", gen.VideoStatus{State: gen.VideoStateError, ErrorReasonCode: &code, ErrorReasonText: &text}); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(t, ms)
	got := r.notifications()
	if len(got) != 2 {
		t.Fatalf("%d notifications received, want 2", len(got))
	}
	byVideo := map[string]*webhook.Notification{got[0].UID: got[0], got[1].UID: got[1]}
	if n := byVideo[hookVideo]; n == nil || !n.ReadyToStream || n.Status.State != "ready" {
		t.Errorf("the ready video's notification: %+v", n)
	}
	if n := byVideo["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]; n == nil || n.ReadyToStream || n.Status.State != "error" || n.Status.ErrorReasonCode != code || n.Status.ErrorReasonText != text {
		t.Errorf("the failed video's notification: %+v", n)
	}
	if c := ms.WebhookDeliveries().Counts(); c[standin.OutcomeDelivered] != 2 || c[standin.OutcomeRetried] != 2 {
		t.Errorf("counts %v; want 2 delivered after 2 retries", c)
	}
	// The server's own video says ready too.
	if resp := do(t, http.MethodGet, base+"/client/v4"+gen.GetVideoPath(account, hookVideo), nil, bearer(apiToken)...); !strings.Contains(resp.Raw, `"readyToStream":true`) {
		t.Errorf("GET video after ready: %s", resp.Raw)
	}
	for _, bad := range []gen.VideoStatus{{State: gen.VideoStateInprogress}, {State: gen.VideoStateReady, ErrorReasonCode: &code}} {
		if err := ms.SetVideoStatus(context.Background(), account, hookVideo, bad); err == nil {
			t.Errorf("SetVideoStatus(%+v) took it", bad)
		}
	}
}

// A notification URL whose address is loopback or private is refused at
// connect time, before a packet leaves: the listener below never sees a
// connection.
func TestWebhookDeliveriesRefusePrivateAddressesAtConnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	st := store.NewMemory(0)
	ms := &standin.Service{Store: st}
	start(t, ms)
	// Set in the store, as a name resolving to loopback would be: the
	// API refuses a literal loopback URL before any delivery.
	if err := st.SetWebhook(context.Background(), account, store.Webhook{URL: "http://" + l.Addr().String() + "/hook", Secret: "s", Modified: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := ms.SetVideoStatus(context.Background(), account, hookVideo, gen.VideoStatus{State: gen.VideoStateReady}); err != nil {
		t.Fatal(err)
	}
	waitDeliveries(t, ms)
	if c := ms.WebhookDeliveries().Counts(); c[standin.OutcomeRefused] != 1 || c[standin.OutcomeDelivered] != 0 {
		t.Errorf("counts %v; want one refused_address", c)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the private address got %d connections", n)
	}
}

// A receiver that hangs costs the server its workers for a Timeout each,
// never an API call: past the queue's bound, notifications are dropped
// and counted.
func TestWebhookDeliveriesAreBounded(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	ms := &standin.Service{Deliveries: &standin.Deliveries{AllowPrivate: true, Queue: 4, Workers: 1, Attempts: 1, Timeout: 300 * time.Millisecond}}
	base, _ := start(t, ms)
	r := &receiver{ts: hang}
	setWebhook(t, base, r)
	begin := time.Now()
	for i := range 20 {
		id := strings.Repeat(string(rune('a'+i)), 32)
		if err := ms.SetVideoStatus(context.Background(), account, id, gen.VideoStatus{State: gen.VideoStateReady}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("20 videos made ready took %v: a hung receiver held up the calls", d)
	}
	calls := time.Since(begin)
	waitDeliveries(t, ms)
	c := ms.WebhookDeliveries().Counts()
	t.Logf("20 videos made ready in %v with a hung receiver; deliveries %v after %v", calls.Round(time.Microsecond), c, time.Since(begin).Round(time.Millisecond))
	if c[standin.OutcomeDropped] < 15 || c[standin.OutcomeDropped]+c[standin.OutcomeFailed] != 20 {
		t.Errorf("counts %v; want at least 15 of 20 dropped (queue 4, one worker), the rest failed", c)
	}
}
