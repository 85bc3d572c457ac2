package server

import (
	"bytes"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
)

// DefaultMaxConnections is how many connections [Server.Serve] holds open
// at once unless Config.MaxConnections says otherwise, or the process may
// open fewer files (then that many, less some for its own files): room
// for the clients of some 10,000 requests a second that each wait the
// signing queue's 250 ms at most, at some 20 KiB a connection.
const DefaultMaxConnections = 4096

// FileHeadroom is what a server keeps of its open-file limit for its own
// files (keys, logs, the store) when the limit caps its connections.
const FileHeadroom = 64

// newConnAge is how long a connection that has sent nothing yet is left
// alone when room is needed: long enough for a real client to send its
// request line.
const newConnAge = time.Second

// limitListener holds at most cap(sem) connections open. When it is full,
// it makes room by closing the connection that has been idle the longest
// (between requests, or silent since it opened), so that a crowd of idle
// sockets cannot lock a real client out; only when every connection is
// busy does Accept wait. It also turns net/http's own plain-text refusals
// (400, 431, 501 for a request it cannot parse) into envelopes.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	perIP     int // the most from one address; 0: no cap
	done      chan struct{}
	closeOnce sync.Once
	now       func() time.Time
	// refused is told of each answer net/http gives on its own.
	refused func(status int)

	// wake is told when a connection falls idle (one a full listener may
	// close to make room); waits counts a full Accept's waits, for tests.
	wake  chan struct{}
	waits atomic.Int64
	// refusing holds a place per refusal under way (maxRefusing).
	refusing chan struct{}

	mu   sync.Mutex
	idle map[*limitedConn]idleSince
	ips  map[netip.Addr]int // open connections by client address, with perIP
}

type idleSince struct {
	at    time.Time
	fresh bool // has sent nothing yet
}

func newLimitListener(ln net.Listener, max, perIP int, refused func(int)) *limitListener {
	return &limitListener{
		Listener: ln,
		sem:      make(chan struct{}, max),
		perIP:    perIP,
		ips:      map[netip.Addr]int{},
		done:     make(chan struct{}),
		now:      time.Now,
		refused:  refused,
		idle:     map[*limitedConn]idleSince{},
		wake:     make(chan struct{}, 1),
		refusing: make(chan struct{}, maxRefusing),
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.accept()
		if err != nil {
			return nil, err
		}
		ip := clientAddr(c)
		l.mu.Lock()
		over := l.perIP > 0 && ip.IsValid() && l.ips[ip] >= l.perIP // a Unix socket's clients have no address to tell apart
		if !over {
			l.ips[ip]++
		}
		l.mu.Unlock()
		if !over {
			return &limitedConn{Conn: c, l: l, ip: ip}, nil
		}
		<-l.sem
		select {
		case l.refusing <- struct{}{}: // off the accept loop, a few at a time
			go func() {
				defer func() { <-l.refusing }()
				l.Refuse(c)
			}()
		default:
			_ = c.Close() // too many refusals under way: closed unanswered
		}
	}
}

// clientAddr is a connection's remote address, IPv4 in IPv6 unmapped; the
// zero Addr for one that has none (a Unix socket's).
func clientAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// maxRefusing bounds the refusals answered at once; past it, a connection
// over its address's cap is closed unanswered.
const maxRefusing = 64

// refuse answers a connection over its address's cap with a 429 envelope,
// after its request's head (a client reads an answer to a request it
// sent; one written before is an "unsolicited response" to it), read for
// at most a second and 8 KiB, and closes it.
func (l *limitListener) Refuse(c net.Conn) {
	defer c.Close()
	if l.refused != nil {
		l.refused(http.StatusTooManyRequests)
	}
	_ = c.SetReadDeadline(l.now().Add(time.Second))
	head := make([]byte, 0, 8<<10)
	for !bytes.Contains(head, []byte("\r\n\r\n")) && len(head) < cap(head) {
		n, err := c.Read(head[len(head):cap(head)])
		head = head[:len(head)+n]
		if err != nil {
			break
		}
	}
	body, _ := jsonEnvelope(Problem{Status: http.StatusTooManyRequests, Code: apicode.RateLimited,
		Message: "too many connections from this address: close some, or retry"})
	answer := "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n"
	_ = c.SetWriteDeadline(l.now().Add(100 * time.Millisecond)) // a few hundred bytes: the socket's buffer takes them
	_, _ = c.Write(append([]byte(answer), body...))
}

// accept takes a slot, making room when full, then the next connection.
// A full listener waits for a slot to free, a connection to fall idle (it
// may be closed then), or the next silent one to age past newConnAge,
// whichever comes first: no timer but that one.
func (l *limitListener) accept() (net.Conn, error) {
	for acquired := false; !acquired; {
		select {
		case l.sem <- struct{}{}:
			acquired = true
			continue
		default:
		}
		var aged <-chan time.Time
		var t *time.Timer
		if next := l.evictIdle(); !next.IsZero() {
			t = time.NewTimer(next.Sub(l.now()))
			aged = t.C
		}
		l.waits.Add(1)
		closed := false
		select {
		case l.sem <- struct{}{}:
			acquired = true
		case <-l.wake:
		case <-aged:
		case <-l.done:
			closed = true
		}
		if t != nil {
			t.Stop()
		}
		if closed {
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return c, nil
}

// crowded reports whether the listener holds nine tenths of its
// connections or more. Then responses close their connections: a client
// told so opens a new one for its next request, where a keep-alive
// connection closed to make room, as it is reused, fails that request
// (a POST is not sent again).
func (l *limitListener) crowded() bool {
	return len(l.sem) >= cap(l.sem)-cap(l.sem)/10
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// evictIdle closes the connection idle the longest: a keep-alive one
// first, else one that has been silent since it opened for newConnAge.
// When it closes none, it returns when the first silent one comes of age
// (the zero time when none is waiting to).
func (l *limitListener) evictIdle() (next time.Time) {
	l.mu.Lock()
	var victim *limitedConn
	var best idleSince
	cutoff := l.now().Add(-newConnAge)
	for c, s := range l.idle {
		if s.fresh && s.at.After(cutoff) {
			if at := s.at.Add(newConnAge); next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		if victim == nil || (best.fresh && !s.fresh) || (best.fresh == s.fresh && s.at.Before(best.at)) {
			victim, best = c, s
		}
	}
	if victim != nil {
		delete(l.idle, victim)
	}
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
		return time.Time{}
	}
	return next
}

// connState is the http.Server's ConnState hook: it tracks which
// connections are idle.
func (l *limitListener) connState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch state {
	case http.StateNew:
		c.handling.Store(false)
		l.idle[c] = idleSince{at: l.now(), fresh: true}
	case http.StateIdle:
		c.handling.Store(false)
		l.idle[c] = idleSince{at: l.now()}
		select {
		case l.wake <- struct{}{}: // a full Accept may close it now
		default:
		}
	case http.StateActive:
		c.handling.Store(false) // a request is read; no handler runs yet
		delete(l.idle, c)
	default:
		delete(l.idle, c)
	}
}

// limitedConn gives its slot back when closed, once.
type limitedConn struct {
	net.Conn
	l         *limitListener
	ip        netip.Addr
	closeOnce sync.Once
	// handling is set while a handler answers the connection's request
	// (and until the answer is written): what is written while it is not
	// set is net/http's own.
	handling atomic.Bool
}

// connKey keys the connection in a request's context (http.Server's
// ConnContext).
type connKey struct{}

// handled marks the connection of r as answered by a handler, not by
// net/http itself.
func handled(r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(*limitedConn); ok {
		c.handling.Store(true)
	}
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.l.mu.Lock()
		delete(c.l.idle, c)
		if c.l.ips[c.ip]--; c.l.ips[c.ip] <= 0 {
			delete(c.l.ips, c.ip)
		}
		c.l.mu.Unlock()
		<-c.l.sem
	})
	return err
}

// CloseWrite half-closes the connection, as net/http does after it refuses
// a request, when the connection underneath can.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Write passes the server's writes through, except net/http's own answer
// to a request it could not parse, which it writes in one piece straight
// to the connection, while no handler answers: that becomes an envelope.
func (c *limitedConn) Write(b []byte) (int, error) {
	if c.handling.Load() {
		return c.Conn.Write(b)
	}
	status, reason, ok := plainHTTPError(b)
	if !ok {
		return c.Conn.Write(b)
	}
	if c.l.refused != nil {
		c.l.refused(status)
	}
	body, _ := jsonEnvelope(Problem{Status: status, Code: apicode.MalformedHTTP, Message: reason})
	head := "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) +
		"\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := c.Conn.Write(append([]byte(head), body...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// plainHTTPError reads an answer net/http wrote itself ("HTTP/1.1 431
// Request Header Fields Too Large", headers, a plain-text body) for its
// status and its text, which echoes nothing of the request. It depends on
// the answer's form alone (a status line, headers, a blank line), not on
// the headers net/http happens to send.
func plainHTTPError(b []byte) (int, string, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 4 || rest[3] != ' ' {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(rest[:3]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	_, body, ok := bytes.Cut(rest, []byte("\r\n\r\n"))
	if !ok {
		return 0, "", false
	}
	reason := strings.ToValidUTF8(string(body[:min(len(body), 200)]), "")
	return status, "HTTP request refused: " + strings.TrimSpace(reason), true
}
