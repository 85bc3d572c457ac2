package server

import (
	"bytes"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
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
	}
}

// evictEvery is how often a full listener looks again for a connection to
// close: silent ones become fair game as they age.
const evictEvery = 50 * time.Millisecond

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
		l.refuse(c)
		<-l.sem
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

// refuse answers a connection over its address's cap with a 429 envelope,
// and closes it.
func (l *limitListener) refuse(c net.Conn) {
	if l.refused != nil {
		l.refused(http.StatusTooManyRequests)
	}
	body, _ := jsonEnvelope(Problem{Status: http.StatusTooManyRequests, Code: apicode.RateLimited,
		Message: "too many connections from this address: close some, or retry"})
	head := "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n"
	_ = c.SetWriteDeadline(l.now().Add(100 * time.Millisecond)) // a few hundred bytes: the socket's buffer takes them
	_, _ = c.Write(append([]byte(head), body...))
	_ = c.Close()
}

// accept takes a slot, making room when full, then the next connection.
func (l *limitListener) accept() (net.Conn, error) {
	for acquired := false; !acquired; {
		select {
		case l.sem <- struct{}{}:
			acquired = true
			continue
		default:
		}
		l.evictIdle()
		t := time.NewTimer(evictEvery)
		select {
		case l.sem <- struct{}{}:
			acquired = true
		case <-t.C:
		case <-l.done:
			t.Stop()
			return nil, net.ErrClosed
		}
		t.Stop()
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
func (l *limitListener) evictIdle() {
	l.mu.Lock()
	var victim *limitedConn
	var best idleSince
	cutoff := l.now().Add(-newConnAge)
	for c, s := range l.idle {
		if s.fresh && s.at.After(cutoff) {
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
	}
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
		l.idle[c] = idleSince{at: l.now(), fresh: true}
	case http.StateIdle:
		l.idle[c] = idleSince{at: l.now()}
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
// to the connection: that becomes an envelope.
func (c *limitedConn) Write(b []byte) (int, error) {
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

// netHTTPErrorHeaders are the headers net/http sends with the plain-text
// answers it writes itself.
var netHTTPErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

// plainHTTPError recognises one of net/http's own plain-text answers
// ("HTTP/1.1 431 Request Header Fields Too Large" + its headers + body)
// and returns its status and its text, which echoes nothing of the request.
func plainHTTPError(b []byte) (int, string, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 4 {
		return 0, "", false
	}
	_, body, ok := bytes.Cut(rest, netHTTPErrorHeaders)
	if !ok {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(rest[:3]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	reason := string(body)
	if len(reason) > 200 {
		reason = reason[:200]
	}
	return status, "HTTP request refused: " + reason, true
}
