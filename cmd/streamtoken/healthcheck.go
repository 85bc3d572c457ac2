package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/server"
)

// healthTimeout bounds healthcheck unless --timeout says otherwise: a
// runtime asks every few seconds, and a server that takes longer than
// this to say it is alive is not one to send requests to.
const healthTimeout = 2 * time.Second

// maxHealthBody is the most of /healthz's answer healthcheck reads: the
// server's is 16 bytes, and whatever answers in its place is not trusted
// with more.
const maxHealthBody = 1 << 10

func newHealthcheckCmd(e env) *cobra.Command {
	var rawURL string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when a server's " + server.HealthPath + " answers ok, 1 otherwise",
		Long: `Ask a streamtoken server whether it is serving: exit 0 when its
` + server.HealthPath + ` answers 200 with {"status":"ok"} within --timeout (2s unless
given), 1 for anything else (refused, slow, another status or body, a
redirect, or a --url or STREAMTOKEN_ADDR that does not parse). It needs no
shell or curl: the container image's HEALTHCHECK runs it.

Without --url it asks the address serve listens on, from STREAMTOKEN_ADDR
as serve reads it (default ` + defaultAddr + `); an address of all interfaces
(:8787, 0.0.0.0:8787, [::]:8787) is asked on loopback. No proxy is used.`,
		Example: `  streamtoken healthcheck
  streamtoken healthcheck --url http://127.0.0.1:8787` + server.HealthPath,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := healthURL(rawURL, e.getenv(serveEnv("addr")))
			if err != nil {
				return failure(err)
			}
			start := time.Now()
			if err := checkHealth(cmd.Context(), target); err != nil {
				return failure(fmt.Errorf("%s: %w", target, err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %s answered in %v\n", target, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "the health `URL` to ask, http or https (a URL without a path asks its "+server.HealthPath+"; default: from STREAMTOKEN_ADDR, else "+defaultAddr+")")
	return cmd
}

// healthURL is the URL healthcheck asks: --url's, its path defaulting to
// the health path, or one on the address serve listens on (addr, from
// STREAMTOKEN_ADDR; "" for serve's default), all interfaces asked on
// loopback.
func healthURL(rawURL, addr string) (string, error) {
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		switch {
		case err != nil:
			return "", errors.New("--url: want an http or https URL, such as http://127.0.0.1:8787" + server.HealthPath)
		case u.Scheme != "http" && u.Scheme != "https":
			return "", fmt.Errorf("--url: want an http or https URL, not scheme %q", u.Scheme)
		case u.Host == "":
			return "", errors.New("--url: no host")
		case u.User != nil:
			return "", errors.New("--url: a user in the URL is not taken (the health path needs no credentials)")
		}
		if u.Path == "" {
			u.Path = server.HealthPath
		}
		return u.String(), nil
	}
	from := "STREAMTOKEN_ADDR"
	if addr == "" {
		addr, from = defaultAddr, "the default address"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s %q: want HOST:PORT", from, addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%s %q: the port is not one from 1 to 65535", from, addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: server.HealthPath}).String(), nil
}

// checkHealth asks target once, with no proxy and no redirect followed,
// and says why the answer is not the server's ok.
func checkHealth(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	hc := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true}, // Proxy nil: none, whatever HTTPS_PROXY says
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := hc.Do(req)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once, by the caller
		}
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s, not 200", res.Status)
	}
	var body struct {
		Status string `json:"status"`
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxHealthBody+1))
	switch {
	case err != nil:
		return fmt.Errorf("the answer broke off: %w", err)
	case len(raw) > maxHealthBody:
		return fmt.Errorf("the answer is over %d bytes: not the server's", maxHealthBody)
	case json.Unmarshal(raw, &body) != nil || body.Status != "ok":
		return errors.New(`answered 200 without {"status":"ok"}: not a streamtoken server`)
	}
	return nil
}
