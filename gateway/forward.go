package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/server"
)

// forwarding is what one forwarded request carries through the reverse
// proxy, in its context.
type forwarding struct {
	purpose string      // of the metrics: "forward", "authorize", "token"
	cred    *credential // the deployment's, in place of the caller's; nil: the caller's, as sent
	// answered, when set, sees the upstream's answer before it is
	// copied: it may read (and put back) the body; an error it returns
	// ends the forwarding (errSignHere: sign the token here instead).
	answered func(*http.Response) error
	// signHere, when set, answers the request here when the upstream
	// could not decide: its acceptance still holds, in grace.
	signHere func() bool
	cancel   context.CancelFunc
	idled    atomic.Bool // the upstream's answer stalled past the idle bound
	bodyErr  atomic.Bool // the caller's body failed (or stalled) as it was sent on
}

// callerBody is a forwarded request's body, which tells the caller's
// failure from the upstream's.
type callerBody struct {
	io.ReadCloser
	f *forwarding
}

func (b callerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.f.bodyErr.Store(true)
	}
	return n, err
}

type forwardingKey struct{}

// errSignHere ends a forwarding whose answer decided nothing, when the
// token is to be signed here instead.
var errSignHere = errors.New("the upstream decided nothing: signed here")

// Retry-After of the gateway's 503s, in seconds.
const retryAfter = 5

// newProxy is the gateway's reverse proxy: a request under
// server.BasePath goes to the same path under the upstream's base, its
// query, headers (hop-by-hop ones aside: httputil drops them, and those a
// Connection header names) and body as they came, none added (no
// X-Forwarded-*), and the answer comes back as it came.
func newProxy(g *Gateway) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			f := pr.In.Context().Value(forwardingKey{}).(*forwarding)
			rest := strings.TrimPrefix(pr.In.URL.EscapedPath(), server.BasePath)
			out := pr.Out.URL
			out.Scheme, out.Host, out.User = g.upstream.Scheme, g.upstream.Host, nil
			out.RawPath = g.upstream.EscapedPath() + rest
			out.Path, _ = url.PathUnescape(out.RawPath) // checked by forward: it unescapes
			out.RawQuery = pr.In.URL.RawQuery
			pr.Out.Host = ""
			if f.cred != nil {
				f.cred.set(pr.Out.Header)
			}
		},
		Transport:     g.hc.Transport,
		FlushInterval: 100 * time.Millisecond,
		ModifyResponse: func(resp *http.Response) error {
			f := resp.Request.Context().Value(forwardingKey{}).(*forwarding)
			g.reached()
			g.metrics.upstream.WithLabelValues(f.purpose, strconv.Itoa(resp.StatusCode)).Inc()
			if resp.StatusCode == http.StatusTooManyRequests {
				// Passed through as it came; the credential is locked out
				// for the gateway's own requests too.
				if cred, ok := credentialOf(resp.Request.Header); ok {
					g.lockOut(cred, retryAfterOf(resp.Header))
				}
			}
			resp.Body = &idleBody{ReadCloser: resp.Body, timer: time.AfterFunc(g.idle, func() { f.idled.Store(true); f.cancel() }), idle: g.idle}
			if f.answered != nil {
				return f.answered(resp)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			f := r.Context().Value(forwardingKey{}).(*forwarding)
			if errors.Is(err, errSignHere) {
				f.signHere()
				return
			}
			if r.Context().Err() != nil && !f.idled.Load() {
				return // the caller left: no one to answer
			}
			if f.bodyErr.Load() {
				// The caller's body broke off or stalled: not the
				// upstream's doing.
				server.WriteProblems(w, server.Problem{Status: http.StatusBadRequest, Code: apicode.MalformedJSON,
					Message: "the request's body could not be read to its end (it broke off, or came too slowly)"})
				return
			}
			g.down()
			g.metrics.upstream.WithLabelValues(f.purpose, "error").Inc()
			if f.signHere != nil && f.signHere() {
				return
			}
			g.log.Warn("the upstream did not answer", "method", r.Method, "route", r.Pattern, "error", err.Error())
			unavailable(w, "the upstream did not answer: "+upstreamProblem(err))
		},
	}
}

// upstreamProblem says what went wrong with the upstream in a few words,
// naming neither its address nor anything of the request.
func upstreamProblem(err error) string {
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.Canceled):
		return "its answer stalled"
	case errors.As(err, &ne) && ne.Timeout():
		return "it timed out"
	}
	return "it cannot be reached"
}

// unavailable answers a 503 envelope (1020) with Retry-After.
func unavailable(w http.ResponseWriter, msg string) {
	unavailableFor(w, msg, retryAfter*time.Second)
}

// unavailableFor answers a 503 envelope (1020) with a Retry-After of d
// (at least a second).
func unavailableFor(w http.ResponseWriter, msg string, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
	server.WriteProblems(w, server.Problem{Status: http.StatusServiceUnavailable, Code: apicode.UpstreamUnavailable, Message: msg})
}

// forward forwards a request to the upstream, after answered (nil: none)
// has seen the answer. It refuses a path the upstream could read
// otherwise than the gateway (an encoded slash or dot segment); with the
// deployment's credentials, it refuses anything but a path under an
// account the caller's credential names.
func (g *Gateway) forward(answered func(*Gateway, *http.Request) func(*http.Response) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := ambiguousPath(r.URL.EscapedPath()); p != nil {
			server.WriteProblems(w, *p)
			return
		}
		f := &forwarding{purpose: "forward"}
		if g.deployment != nil {
			cred, p := g.deployed(r, accountOf(r.URL.Path))
			if p != nil {
				server.WriteProblems(w, *p)
				return
			}
			f.cred = &cred
		}
		if answered != nil {
			f.answered = answered(g, r)
		}
		g.proxyServe(w, r, f)
	})
}

// deployed is the deployment's upstream credential for a request of the
// caller's under account, or the problem to answer: the caller's local
// credential must be one, and name the account, and the deployment must
// hold a credential for it.
func (g *Gateway) deployed(r *http.Request, account string) (credential, *server.Problem) {
	caller, p := g.local.Authenticate(r)
	if p != nil {
		return credential{}, p
	}
	cred, ok := g.deployment[account]
	if account == "" || !ok || !caller.Allowed(account) {
		return credential{}, &server.Problem{Status: http.StatusForbidden, Code: apicode.NotForwarded,
			Message: "not forwarded: this gateway forwards only the paths of an account that the credential names and that it holds an upstream credential for"}
	}
	return cred, nil
}

// proxyServe forwards r as f says, within the gateway's deadlines: the
// answer's writes have one idle bound each (the server's whole-request
// write timeout would cut a long upload's answer), the upstream's answer
// one per read.
func (g *Gateway) proxyServe(w http.ResponseWriter, r *http.Request, f *forwarding) {
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), forwardingKey{}, f))
	defer cancel()
	f.cancel = cancel
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the body's rate bounds the upload; each write, the answer
	r = r.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = callerBody{ReadCloser: r.Body, f: f}
	}
	g.proxy.ServeHTTP(&idleWriter{ResponseWriter: w, rc: rc, idle: g.idle}, r)
}

// accountsPrefix begins the path of every operation on an account.
var accountsPrefix = server.BasePath + gen.CreateSigningKeyRoute.Path[:strings.Index(gen.CreateSigningKeyRoute.Path, "{")]

// accountOf is the account whose path path is (one under accountsPrefix),
// or "".
func accountOf(path string) string {
	rest, ok := strings.CutPrefix(path, accountsPrefix)
	if !ok {
		return ""
	}
	account, _, _ := strings.Cut(rest, "/")
	if ids.Check(account) != "" {
		return ""
	}
	return account
}

// ambiguousPath is the 400 of a path one server could read otherwise than
// another: an encoded slash or backslash, or a segment that decodes to "."
// or ".." (the literal ones are refused before).
func ambiguousPath(escaped string) *server.Problem {
	for seg := range strings.SplitSeq(escaped, "/") {
		if !strings.Contains(seg, "%") {
			continue
		}
		low := strings.ToLower(seg)
		dec, err := url.PathUnescape(seg)
		if err != nil || strings.Contains(low, "%2f") || strings.Contains(low, "%5c") || dec == "." || dec == ".." {
			return &server.Problem{Status: http.StatusBadRequest, Code: apicode.UncleanPath,
				Message: `the path has an encoded slash, or a segment that decodes to "." or "..": not forwarded`}
		}
	}
	return nil
}

// idleWriter moves the write deadline on before each write: an answer
// may take as long as it needs, but no write longer than idle.
type idleWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (w *idleWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	return w.ResponseWriter.Write(p)
}

func (w *idleWriter) Flush() {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	_ = w.rc.Flush()
}

// Unwrap is for http.ResponseController.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// idleBody is the upstream's answer, ended when no byte of it comes for
// idle.
type idleBody struct {
	io.ReadCloser
	timer *time.Timer
	idle  time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.idle)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	return b.ReadCloser.Close()
}

// reached and down record the upstream's last answer and failure.
func (g *Gateway) reached() { g.lastReached.Store(time.Now().UnixNano()) }
func (g *Gateway) down()    { g.lastDown.Store(time.Now().UnixNano()) }

// upstreamDown reports whether the upstream's last exchange, within the
// last few seconds, failed: then a token whose acceptance is in grace is
// signed without asking it again.
func (g *Gateway) upstreamDown() bool {
	d := g.lastDown.Load()
	return d > g.lastReached.Load() && time.Since(time.Unix(0, d)) < downFor
}

// downFor is how long an upstream failure is believed without trying.
const downFor = 5 * time.Second
