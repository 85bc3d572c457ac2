package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/server"
)

// dialFrom opens a connection to addr from the loopback address from
// (127.0.0.2 is loopback too, on Linux).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s here: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// One client address cannot take every connection: past its cap, its new
// connections are answered 429 and closed, while another address is
// served.
func TestConnectionsPerClientAddress(t *testing.T) {
	addr, _, _ := serve(t, server.Config{MaxConnections: 40, MaxConnectionsPerIP: 10})
	for range 10 {
		dialFrom(t, "127.0.0.1", addr)
	}
	time.Sleep(100 * time.Millisecond) // accepted
	// The 11th's request is answered 429: after it is sent, so that a
	// client reads the answer as its request's.
	over := dialFrom(t, "127.0.0.1", addr)
	_ = over.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(over, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the 11th connection from 127.0.0.1: %v, %v; want a 429", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"code":1015`) {
		t.Errorf("the 429's body = %s, want an envelope", body)
	}
	other := dialFrom(t, "127.0.0.2", addr)
	_ = other.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(other, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(other), nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz from 127.0.0.2 while 127.0.0.1 holds its cap: %v, %v", resp, err)
	}
}

// An answer given before a body was read closes the connection instead of
// waiting for the body (net/http would read up to 256 KiB of it, as slowly
// as the client sends it, holding the slot).
func TestAnEarlyAnswerClosesTheConnection(t *testing.T) {
	addr, _, _ := serve(t, server.Config{})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{")
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != 404 || !resp.Close {
		t.Fatalf("POST /nope with a body not sent: %v, %v; want a 404 that closes the connection", resp, err)
	}
	_, _ = io.ReadAll(resp.Body)
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after the answer the connection is still open: %v", err)
	}
}

// A body is held to a minimum rate, not to one deadline: one that brings
// its bytes in time is read however long it takes, one that trickles is
// cut within a window.
func TestBodiesAreHeldToAMinimumRate(t *testing.T) {
	s := newServer(t, server.Config{})
	server.SetBodyRate(s, 500*time.Millisecond, 16<<10) // 8 KiB each 500 ms
	addr, _, _ := serveServer(t, s)
	send := func(chunks int, every time.Duration) (*http.Response, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		body := `{"exp":` + fmt.Sprint(time.Now().Add(time.Hour).Unix()) + `}` + strings.Repeat(" ", chunks*4096-20)
		fmt.Fprintf(c, "POST %s/accounts/%s/stream/%s/token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
			server.BasePath, account, video, apiToken, len(body))
		for i := range chunks {
			if _, err := io.WriteString(c, body[i*4096:min(len(body), (i+1)*4096)]); err != nil {
				break // cut off
			}
			time.Sleep(every)
		}
		return http.ReadResponse(bufio.NewReader(c), nil)
	}
	// 4 KiB every 100 ms (40 KiB/s, 2.5 times the rate) for about 1.5 s
	// (60 KiB, under a token body's 64 KiB): three windows, read.
	if resp, err := send(15, 100*time.Millisecond); err != nil || resp.StatusCode != 200 {
		t.Errorf("a body at 40 KiB/s over 1.5 s: %v, %v; want a token", resp, err)
	}
	// 4 KiB every 600 ms (under 7 KiB/s): cut, the connection closed.
	if resp, err := send(15, 600*time.Millisecond); err == nil && resp.StatusCode == 200 {
		t.Errorf("a body at 8 KiB/s: %d, want it cut off", resp.StatusCode)
	}
}

// A Go client past its address's cap gets the 429 as the answer to its
// request, not as an unsolicited response on a connection.
func TestAClientPastItsCapGetsA429(t *testing.T) {
	addr, _, _ := serve(t, server.Config{MaxConnections: 40, MaxConnectionsPerIP: 2})
	for range 2 {
		dialFrom(t, "127.0.0.1", addr)
	}
	time.Sleep(100 * time.Millisecond) // accepted
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET past the cap: %v, want a 429", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("GET past the cap = %d, Retry-After %q; want 429, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// A small body (a token request's) has one window to arrive whole: one
// never sent does not hold the connection past it.
func TestASmallBodyHasOneWindow(t *testing.T) {
	s := newServer(t, server.Config{})
	server.SetBodyRate(s, 300*time.Millisecond, 16<<10)
	addr, _, _ := serveServer(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "POST %s/accounts/%s/stream/%s/token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
		server.BasePath, account, video, apiToken)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil && resp.StatusCode == http.StatusOK {
		t.Errorf("a body never sent got a token")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("a small body never sent held the connection past its window: %v", err)
	}
}
