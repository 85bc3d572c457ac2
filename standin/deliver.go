package standin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/webhook"
)

// Defaults of [Deliveries].
const (
	DefaultDeliveryTimeout  = 10 * time.Second
	DefaultDeliveryAttempts = 5
	DefaultDeliveryBackoff  = 2 * time.Second
	DefaultDeliveryQueue    = 1000
	DefaultDeliveryWorkers  = 4
)

// Deliveries send a [Service]'s webhook notifications as Cloudflare
// sends them: a POST of the video object, signed in Webhook-Signature
// with the account's webhook secret (package webhook), when a video
// becomes ready (a direct upload's upload is taken) or fails.
//
// They never hold up an API call: a notification goes into a bounded
// queue, and one that finds it full is dropped and counted. Workers send
// them, each attempt bounded by Timeout; an attempt answered other than
// 2xx (a redirect too: none is followed) is tried again after Backoff,
// doubled each time, Attempts times at most. The URL and secret are the
// webhook's at each attempt. Unless AllowPrivate, an address that is
// loopback, private, link-local or otherwise not public is refused at
// connect time, on the address the name resolved to, before a packet is
// sent; no proxy is used. /metrics counts deliveries by outcome.
type Deliveries struct {
	// AllowPrivate lets notifications go to loopback and private
	// addresses: for tests and demos on one machine.
	AllowPrivate bool
	// Timeout bounds each attempt: connecting, sending, and the answer.
	// Zero: DefaultDeliveryTimeout.
	Timeout time.Duration
	// Attempts is the most attempts of one notification. Zero:
	// DefaultDeliveryAttempts.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// one after. Zero: DefaultDeliveryBackoff.
	Backoff time.Duration
	// Queue is the most notifications waiting to be sent. Zero:
	// DefaultDeliveryQueue.
	Queue int
	// Workers send at once. Zero: DefaultDeliveryWorkers.
	Workers int
	// Logger logs what was not delivered. Nil: nothing is logged.
	Logger *slog.Logger

	webhooks store.Webhooks
	client   *http.Client
	outcomes *prometheus.CounterVec

	mu      sync.Mutex
	closed  bool
	queue   chan *delivery
	done    chan struct{}
	wg      sync.WaitGroup
	pending int            // queued, in flight, or waiting to be tried again
	counts  map[string]int // by outcome
}

// Outcomes of a delivery, as /metrics and [Deliveries.Counts] name them.
const (
	OutcomeDelivered = "delivered"       // answered 2xx
	OutcomeRetried   = "retried"         // an attempt failed, another follows
	OutcomeFailed    = "failed"          // every attempt failed
	OutcomeDropped   = "dropped"         // the queue was full, or the server stopped
	OutcomeRefused   = "refused_address" // a loopback or private address, not allowed
	OutcomeNoWebhook = "no_webhook"      // the webhook was deleted before it was sent
)

type delivery struct {
	accountID, videoID string
	body               []byte
	attempt            int
}

// mount readies d for a Service: its store and metrics.
func (d *Deliveries) mount(webhooks store.Webhooks, reg prometheus.Registerer) error {
	d.webhooks = webhooks
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "streamtoken_webhook_deliveries_total",
		Help: "Webhook notifications of the stand-in, by outcome: delivered, retried (an attempt failed), failed (every attempt), dropped (the queue was full), refused_address, no_webhook.",
	}, []string{"outcome"})
	if reg != nil {
		var err error
		if outcomes, err = server.Register(reg, outcomes); err != nil {
			return err
		}
	}
	d.outcomes = outcomes
	return nil
}

// startLocked makes the queue and starts the workers, the first time a
// notification is sent. d.mu is held.
func (d *Deliveries) startLocked() {
	if d.queue != nil || d.closed {
		return
	}
	d.queue = make(chan *delivery, positive(d.Queue, DefaultDeliveryQueue))
	d.done = make(chan struct{})
	d.client = d.newClient()
	for range positive(d.Workers, DefaultDeliveryWorkers) {
		d.wg.Add(1)
		go d.work()
	}
}

func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// newClient is the deliveries' HTTP client: no proxy, no redirect, and
// unless AllowPrivate a dialer that refuses addresses that are not public.
func (d *Deliveries) newClient() *http.Client {
	dialer := &net.Dialer{Timeout: positive(d.Timeout, DefaultDeliveryTimeout)}
	if !d.AllowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !publicAddr(ip) {
				return &refusedAddressError{addr: host}
			}
			return nil
		}
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // a proxy would connect where the check cannot see
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: positive(d.Timeout, DefaultDeliveryTimeout),
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refusedAddressError is a connection the dialer refused before it was
// made: the address is not public.
type refusedAddressError struct{ addr string }

func (e *refusedAddressError) Error() string {
	return "notifications are not sent to " + e.addr + ", a loopback or private address (serve --allow-private-webhooks allows them)"
}

// notPublic are the ranges no notification goes to: besides what netip
// calls loopback, private, link-local, multicast and unspecified, this
// network, shared address space (CGNAT), IETF protocol assignments, the
// documentation and benchmarking ranges, reserved space, and NAT64 (which
// reaches IPv4 addresses through a translator).
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("100::/64"),
}

// publicAddr reports whether ip is an address notifications may go to.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// notify queues a notification of the video whose object body is, when
// the account has a webhook; a full queue drops it. It never blocks.
func (d *Deliveries) notify(ctx context.Context, accountID, videoID string, body []byte) {
	if d == nil || d.webhooks == nil {
		return // a Service not mounted: no webhooks to notify
	}
	if _, ok, err := d.webhooks.Webhook(ctx, accountID); err != nil || !ok {
		if err != nil {
			d.log().Warn("webhook: the account's webhook could not be read; the notification is not sent", "account", accountID, "video", videoID, "err", err)
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.startLocked()
	d.enqueueLocked(&delivery{accountID: accountID, videoID: videoID, body: body, attempt: 1}, true)
}

// enqueueLocked puts dl in the queue, or drops it; fresh says it is not
// counted in pending yet. d.mu is held.
func (d *Deliveries) enqueueLocked(dl *delivery, fresh bool) {
	if fresh {
		d.pending++
	}
	if d.closed {
		d.finishLocked(OutcomeDropped)
		return
	}
	select {
	case d.queue <- dl:
	default:
		d.log().Warn("webhook: the delivery queue is full; a notification is dropped", "account", dl.accountID, "video", dl.videoID, "queue", cap(d.queue))
		d.finishLocked(OutcomeDropped)
	}
}

// finishLocked counts a notification's last outcome. d.mu is held.
func (d *Deliveries) finishLocked(outcome string) {
	d.pending--
	d.countLocked(outcome)
}

func (d *Deliveries) countLocked(outcome string) {
	if d.counts == nil {
		d.counts = map[string]int{}
	}
	d.counts[outcome]++
	if d.outcomes != nil {
		d.outcomes.WithLabelValues(outcome).Inc()
	}
}

func (d *Deliveries) work() {
	defer d.wg.Done()
	for {
		select {
		case <-d.done:
			return
		case dl := <-d.queue:
			d.attempt(dl)
		}
	}
}

// attempt sends dl once, and counts it done or schedules the next try.
func (d *Deliveries) attempt(dl *delivery) {
	err := d.send(dl)
	d.mu.Lock()
	defer d.mu.Unlock()
	var refused *refusedAddressError
	switch {
	case err == nil:
		d.finishLocked(OutcomeDelivered)
	case errors.Is(err, errNoWebhook):
		d.finishLocked(OutcomeNoWebhook)
	case errors.As(err, &refused):
		d.log().Warn("webhook: a notification is not sent", "account", dl.accountID, "video", dl.videoID, "err", err)
		d.finishLocked(OutcomeRefused)
	case dl.attempt >= positive(d.Attempts, DefaultDeliveryAttempts):
		d.log().Warn("webhook: a notification was not delivered; given up", "account", dl.accountID, "video", dl.videoID, "attempts", dl.attempt, "err", err)
		d.finishLocked(OutcomeFailed)
	case d.closed:
		d.finishLocked(OutcomeDropped)
	default:
		d.countLocked(OutcomeRetried)
		wait := positive(d.Backoff, DefaultDeliveryBackoff) << (dl.attempt - 1)
		dl.attempt++
		time.AfterFunc(wait, func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.enqueueLocked(dl, false)
		})
	}
}

var errNoWebhook = errors.New("the account has no webhook now")

// send makes one attempt, with the webhook's URL and secret as they are
// now.
func (d *Deliveries) send(dl *delivery) error {
	ctx, cancel := context.WithTimeout(context.Background(), positive(d.Timeout, DefaultDeliveryTimeout))
	defer cancel()
	w, ok, err := d.webhooks.Webhook(ctx, dl.accountID)
	switch {
	case err != nil:
		return err
	case !ok:
		return errNoWebhook
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(dl.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "streamtoken-standin")
	req.Header.Set(webhook.HeaderName, webhook.Sign(webhook.Secret(w.Secret), dl.body, time.Now()))
	res, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // not the URL, whose query may hold a receiver's own secret
		}
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("answered %s", res.Status)
	}
	return nil
}

// Counts returns the deliveries' outcomes so far, by outcome.
func (d *Deliveries) Counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.counts))
	for k, v := range d.counts {
		out[k] = v
	}
	return out
}

// Wait returns once no notification is queued, in flight or waiting to
// be tried again, or when ctx ends.
func (d *Deliveries) Wait(ctx context.Context) error {
	for {
		d.mu.Lock()
		n := d.pending
		d.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d webhook notifications still pending: %w", n, context.Cause(ctx))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close stops the workers once their attempts in flight end; what is
// queued or waiting is dropped. Calling it twice is safe.
func (d *Deliveries) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	started := d.done != nil
	d.mu.Unlock()
	if !started {
		return
	}
	close(d.done)
	d.wg.Wait()
	d.client.CloseIdleConnections()
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		select {
		case <-d.queue:
			d.finishLocked(OutcomeDropped)
		default:
			return
		}
	}
}

func (d *Deliveries) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}
