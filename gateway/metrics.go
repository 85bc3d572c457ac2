package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtoken/streamtoken/server"
)

// metrics are the gateway's, beside the server's.
type metrics struct {
	upstream        *prometheus.CounterVec // requests of the upstream, by purpose and status
	authorizations  *prometheus.CounterVec // by result
	forwardedTokens *prometheus.CounterVec // tokens forwarded rather than signed here, by reason
	keysCreated     prometheus.Counter     // account keys created at the upstream
	keysReplaced    *prometheus.CounterVec // accounts' keys replaced, by cause
	lockouts        prometheus.Counter     // 429s that locked a credential out
	budgetLeft      prometheus.Gauge       // the last budget spent from: requests left
	keyAge          *prometheus.GaugeVec   // each synced account's signing key's age, by account
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamtoken_gateway_upstream_requests_total",
			Help: "Requests of the upstream, by purpose (forward: a caller's request; authorize: a token request the upstream decides a credential on; token: a token forwarded; create_key: an account's key; sync: a listing of an account's keys; delete_retired: a rotated-out key's deletion; probe: readiness) and status (error: no answer; locked_out: not sent, the credential locked out by a 429; over_budget: not sent, the gateway's own requests on the credential over their budget)."},
			[]string{"purpose", "status"}),
		authorizations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamtoken_gateway_authorizations_total",
			Help: "The upstream's decisions on credentials for accounts (accepted, refused, undecided), refusals replayed (refusal_kept), and tokens signed in grace while the upstream could not decide (grace)."},
			[]string{"result"}),
		forwardedTokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamtoken_gateway_tokens_forwarded_total",
			Help: "Token requests forwarded to the upstream rather than signed here, by reason (key_refused: the upstream refused to create the account's key with the caller's credential)."},
			[]string{"reason"}),
		keysCreated: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamtoken_gateway_account_keys_created_total",
			Help: "Accounts' signing keys created at the upstream."}),
		keysReplaced: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamtoken_gateway_account_keys_replaced_total",
			Help: "Accounts' signing keys replaced by the sync, by cause (deleted_upstream: the key was no longer at the upstream; rotated: older than RotateAfter)."},
			[]string{"cause"}),
	}
	m.lockouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "streamtoken_gateway_lockouts_total",
		Help: "429s of the upstream, to the gateway's own requests or to those it forwarded, after which the gateway's own requests on that credential wait until the lockout lifts."})
	m.budgetLeft = prometheus.NewGauge(prometheus.GaugeOpts{Name: "streamtoken_gateway_budget_left",
		Help: "Requests of its own the gateway may still make at once on the credential it last spent from (its budget, shared by replicas)."})
	m.keyAge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "streamtoken_gateway_account_key_age_seconds",
		Help: "Each synced account's signing key's age, by the upstream's creation time, as of the last sync."}, []string{"account"})
	for _, c := range []prometheus.Collector{m.upstream, m.authorizations, m.forwardedTokens, m.keysCreated, m.keysReplaced, m.lockouts, m.budgetLeft, m.keyAge} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readiness is the last probe of the upstream.
type readiness struct {
	mu sync.Mutex
	at time.Time
	ok bool
}

// probeEvery is how long a probe's result holds.
const probeEvery = 5 * time.Second

// reachable reports whether the upstream answered a request (any answer)
// within the last few seconds, probing it when no result holds.
func (g *Gateway) reachable(ctx context.Context) bool {
	g.ready.mu.Lock()
	defer g.ready.mu.Unlock()
	if time.Since(g.ready.at) < probeEvery {
		return g.ready.ok
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.upstream.String()+"/", nil)
	ok := false
	if err == nil {
		req.Header.Set("User-Agent", "streamtoken-gateway")
		if resp, err := g.hc.Do(req); err == nil {
			resp.Body.Close()
			ok = true
			g.metrics.upstream.WithLabelValues("probe", "answered").Inc()
		} else {
			g.metrics.upstream.WithLabelValues("probe", "error").Inc()
		}
	}
	g.ready.at, g.ready.ok = time.Now(), ok
	return ok
}

// serveReady answers GET /readyz: 200 when the upstream is reachable, a
// 503 envelope (1020) otherwise. Liveness stays /healthz.
func (g *Gateway) serveReady(w http.ResponseWriter, r *http.Request) {
	if !g.reachable(r.Context()) {
		unavailable(w, "the upstream cannot be reached")
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "upstream": "reachable"})
}
