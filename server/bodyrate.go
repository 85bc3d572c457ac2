package server

import (
	"io"
	"net/http"
	"time"
)

// The least a request's body must bring, instead of one deadline for the
// whole request: at least MinBodyBytesPerSecond over each BodyRateWindow
// (160 KiB in 10 s; a slow uplink of 1 Mbit/s brings 1.2 MiB), so that an
// upload takes as long as it needs at any real rate, while a client that
// trickles a byte every few seconds loses its connection within a window.
const (
	MinBodyBytesPerSecond = 16 << 10
	BodyRateWindow        = 10 * time.Second
)

// drainable is how much of a body left unread net/http may read after the
// answer, for the connection's next request; with more unread, the answer
// closes the connection instead (net/http would read up to 256 KiB, as
// slowly as the client sends it, holding the slot).
const drainable = 4 << 10

// bodyRate holds a request's body to the minimum rate (tests shorten its
// window), and gives the answer its write timeout after the body's last
// window.
type bodyRate struct {
	window time.Duration
	perSec int64
	write  time.Duration
}

// guard wraps a request that has a body: its reads are held to the
// minimum rate (by the connection's read deadline, moved on as each
// window's bytes arrive, and the write deadline with it, so that a long
// upload can still be answered), and an answer given before most of the
// body was read closes the connection rather than have net/http drain it
// (see [finish]).
func (br bodyRate) guard(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return w, r
	}
	if r.ContentLength > 0 && r.ContentLength <= drainable {
		// A small body (a token request's): one window to arrive whole, and
		// nothing worth closing over, so no wrapper on the hot path.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(br.window))
		return w, r
	}
	b := &rateBody{ReadCloser: r.Body, rc: http.NewResponseController(w), window: br.window, write: br.write,
		need: int64(float64(br.perSec) * br.window.Seconds())}
	b.extend(time.Now())
	r2 := *r
	r2.Body = b
	return &closeUnread{ResponseWriter: w, body: b, length: r.ContentLength}, &r2
}

// rateBody is a body held to a minimum rate.
type rateBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	window time.Duration
	write  time.Duration
	need   int64 // the bytes a window must bring
	got    int64 // in this window
	read   int64 // in all
	eof    bool
}

func (b *rateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	b.got += int64(n)
	if err == io.EOF {
		b.eof = true
	}
	if b.got >= b.need {
		b.got = 0
		b.extend(time.Now())
	}
	return n, err
}

// extend gives the body another window to bring its bytes in, and the
// answer its write timeout after that.
func (b *rateBody) extend(now time.Time) {
	_ = b.rc.SetReadDeadline(now.Add(b.window))
	_ = b.rc.SetWriteDeadline(now.Add(b.window + b.write))
}

// closeUnread closes the connection after an answer given while much of
// the request's body is unread.
type closeUnread struct {
	http.ResponseWriter
	body    *rateBody
	length  int64 // the request's Content-Length; -1 unknown
	wrote   bool
	closing bool // the answer closes the connection over an unread body
}

func (w *closeUnread) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if !w.body.eof && (w.length < 0 || w.length-w.body.read > drainable) {
			w.Header().Set("Connection", "close")
			w.closing = true
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *closeUnread) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap is for http.ResponseController.
func (w *closeUnread) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish ends a request served through guard: when its answer closes the
// connection over a body left unread, reading stops now. net/http closes
// the body after the handler, reading up to 256 KiB of what is left,
// whether or not the connection is to be reused: a client sending a byte
// now and then would hold the connection until the read deadline.
func finish(w http.ResponseWriter) {
	if cu, ok := w.(*closeUnread); ok && cu.closing {
		_ = cu.body.rc.SetReadDeadline(time.Unix(1, 0))
	}
}
