package server

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// A full listener waits for a slot to free, not on a timer: while every
// connection is busy it waits once, and a closed connection lets the
// next one in.
func TestAFullListenerWakesOnAFreeSlot(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimitListener(ln, 2, 0, nil)
	defer l.Close()
	var busy []net.Conn
	for range 2 {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		l.connState(c, http.StateNew)
		l.connState(c, http.StateActive) // a request under way: not to be closed
		busy = append(busy, c)
	}
	third, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if n := l.waits.Load(); n > 1 {
		t.Errorf("a full listener with every connection busy waited %d times in 300 ms, want once (no polling)", n)
	}
	busy[0].Close()
	select {
	case err := <-accepted:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a freed slot did not let the next connection in")
	}
}

// net/http's own refusals are told by their form, not by the headers a
// Go release sends with them; a handler's answer is never taken for one.
func TestNetHTTPRefusalsAreToldByTheirForm(t *testing.T) {
	for _, raw := range []string{
		"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header",
		"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nX-Added-Later: 1\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large",
		"HTTP/1.1 501 Not Implemented\r\nConnection: close\r\n\r\nunsupported transfer encoding",
	} {
		if status, reason, ok := plainHTTPError([]byte(raw)); !ok || status < 400 || reason == "" {
			t.Errorf("plainHTTPError(%.40q) = %d, %q, %v; want a refusal", raw, status, reason, ok)
		}
	}
	for _, raw := range []string{"HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 40x Nope\r\n\r\n", "garbage"} {
		if _, _, ok := plainHTTPError([]byte(raw)); ok {
			t.Errorf("plainHTTPError(%q) took it for a refusal", raw)
		}
	}
	// While a handler answers, a 4xx in plain text passes as written.
	server, client := net.Pipe()
	defer client.Close()
	c := &limitedConn{Conn: server, l: newLimitListener(nil, 1, 0, nil)}
	c.handling.Store(true)
	raw := "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot here"
	go func() { _, _ = c.Write([]byte(raw)) }()
	buf := make([]byte, len(raw))
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := client.Read(buf); err != nil || string(buf[:n]) != raw {
		t.Errorf("a handler's answer came out as %q, %v", buf[:n], err)
	}
}
