package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// HandlerOption configures a [Handler].
type HandlerOption func(*handler)

// WithTolerance sets how far a notification's time may be from the clock
// ([DefaultTolerance] unless given).
func WithTolerance(d time.Duration) HandlerOption { return func(h *handler) { h.tolerance = d } }

// WithClock sets the clock notifications are dated against (time.Now
// unless given): for tests.
func WithClock(now func() time.Time) HandlerOption { return func(h *handler) { h.now = now } }

// WithLogger logs each refused notification and each failure of the
// function, without the body or the header (slog.Default unless given).
func WithLogger(l *slog.Logger) HandlerOption { return func(h *handler) { h.log = l } }

type handler struct {
	secret    Secret
	fn        func(context.Context, *Notification) error
	tolerance time.Duration
	now       func() time.Time
	log       *slog.Logger
}

// Handler returns an http.Handler for a webhook's notification URL: it
// reads at most [MaxBodyBytes] of a POST's body, verifies it with secret,
// and calls fn with the notification. It answers 200 only once fn has
// returned nil; 500 when fn fails, so that the sender retries; 401 for a
// signature or time that fails, 400 for a malformed header or body, 413
// for one too large, 405 for another method. Answers say which check
// failed, never more.
func Handler(secret Secret, fn func(ctx context.Context, n *Notification) error, opts ...HandlerOption) http.Handler {
	h := &handler{secret: secret, fn: fn, tolerance: DefaultTolerance, now: time.Now, log: slog.Default()}
	for _, opt := range opts {
		opt(h)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhook: a notification is a POST", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxBodyBytes {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, ErrTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, ErrTooLarge)
			return
		}
		h.refuse(w, r, http.StatusBadRequest, errors.New("webhook: the body broke off"))
		return
	}
	n, err := Verify(r.Header.Get(HeaderName), body, h.secret, h.now(), h.tolerance)
	if err != nil {
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, ErrMalformed):
			status = http.StatusBadRequest
		case errors.Is(err, ErrNoSecret):
			status = http.StatusInternalServerError
		}
		h.refuse(w, r, status, err)
		return
	}
	if err := h.fn(r.Context(), n); err != nil {
		h.log.ErrorContext(r.Context(), "webhook: the notification's handling failed; answered 500 for the sender to retry", "video", n.UID, "err", err)
		http.Error(w, "webhook: the notification's handling failed", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *handler) refuse(w http.ResponseWriter, r *http.Request, status int, err error) {
	h.log.WarnContext(r.Context(), "webhook: notification refused", "status", status, "remote", r.RemoteAddr, "err", err)
	http.Error(w, err.Error(), status)
}
