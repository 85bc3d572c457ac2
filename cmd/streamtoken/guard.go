package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
	"github.com/streamtoken/streamtoken/webhook"
)

// defaultGuardAddr is where guard listens unless --listen says otherwise.
const defaultGuardAddr = "127.0.0.1:8788"

func newGuardCmd(e env) *cobra.Command {
	var (
		f          apiFlags
		listen     string
		origins    []string
		secretFile string
		register   string
		auditFirst bool
	)
	cmd := &cobra.Command{
		Use:   "guard --account ID [--listen ADDR] [--register URL]",
		Short: "Secure each video as it becomes ready, told by the account's webhook",
		Long: `Receive the account's webhook notifications and secure every video that
becomes ready playing without a token: requireSignedURLs on, and with
--allowed-origin, the sites that may show it when it had none. Each
notification is verified (its Webhook-Signature, within 5 minutes), the
video read again from the API (the notification may be old), and changed
only if it needs it: one line per change, with the video's ID, name and
creator. A notification is answered 200 once handled, 500 when the API
failed (so that the sender tries again).

The webhook's secret comes from --register URL (which sets the account's
webhook to URL, where this guard is reached from the Internet, and so makes
a new secret: a receiver of the old one refuses what follows), else from
--secret-file (as "webhook set --secret-file" saved it), else from the API.
--audit-first secures what exists (as "audit --fix") before serving, so
that nothing ready before the guard started stays open. GET /healthz says
it serves. No --timeout applies unless given. Credentials come from the
environment (CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL with
CLOUDFLARE_API_KEY).`,
		Example: `  streamtoken guard --account ` + exampleAccount + ` --listen 0.0.0.0:8788 --register https://hooks.example.com/stream --audit-first
  streamtoken guard --account ` + exampleAccount + ` --secret-file webhook.secret --allowed-origin example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOriginFlags(origins); err != nil {
				return err
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return badInput("--listen %s: %v", listen, err)
			}
			defer ln.Close()
			log := slog.New(slog.NewTextHandler(e.stderr, nil))
			ctx := cmd.Context()
			secret, err := guardSecret(ctx, cmd, c, f.account, register, secretFile)
			if err != nil {
				return err
			}
			if auditFirst {
				a := &auditor{c: c, fix: true, origins: origins, w: cmd.OutOrStdout(),
					r: auditReport{Account: f.account, Findings: []finding{}, Incomplete: []unseen{}}}
				if err := a.run(ctx, 0); err != nil {
					return webhookFailure(err)
				}
				if err := a.summary(); err != nil {
					return err
				}
			}
			g := &guard{c: c, account: f.account, origins: origins, out: cmd.OutOrStdout(), log: log}
			mux := http.NewServeMux()
			mux.HandleFunc("GET "+server.HealthPath, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"status":"ok"}`+"\n")
			})
			mux.Handle("/", webhook.Handler(secret, g.handle, webhook.WithLogger(log)))
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
				WriteTimeout: 2 * time.Minute, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}
			fmt.Fprintf(cmd.OutOrStdout(), "streamtoken guard on http://%s for account %s\n", ln.Addr(), f.account)
			if e.draining != nil {
				e.draining()
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return failure(err)
			case <-ctx.Done():
			}
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), server.DefaultShutdownTimeout)
			defer cancel()
			return srv.Shutdown(stop)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", defaultGuardAddr, "the `ADDR` to receive notifications on")
	cmd.Flags().StringArrayVar(&origins, "allowed-origin", nil, "an `ORIGIN` that may show a video that plays on any site (repeatable)")
	cmd.Flags().StringVar(&secretFile, "secret-file", "", "the webhook's secret, in `FILE` (with --register: where the new one is saved)")
	cmd.Flags().StringVar(&register, "register", "", "set the account's webhook to `URL`, where this guard is reached (a new secret)")
	cmd.Flags().BoolVar(&auditFirst, "audit-first", false, "secure the account's media that exist (audit --fix) before serving")
	return cmd
}

// guardSecret is the secret notifications are verified with: a new one
// from --register, else --secret-file's, else the API's.
func guardSecret(ctx context.Context, cmd *cobra.Command, c *streamtoken.Client, account, register, secretFile string) (webhook.Secret, error) {
	switch {
	case register != "":
		w, err := c.SetWebhook(ctx, account, register)
		var invalid *token.ValidationError
		switch {
		case errors.As(err, &invalid) && len(invalid.Violations) > 0 && invalid.Violations[0].Field == "notificationUrl":
			return "", badInput("--register %s: %s", register, invalid.Violations[0].Problem)
		case err != nil:
			return "", webhookFailure(err)
		}
		if secretFile != "" {
			if err := writeSecretFile(secretFile, w.Secret.Reveal()); err != nil {
				return "", failure(fmt.Errorf("--secret-file: %w", err))
			}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "streamtoken guard: the webhook of %s now sends to %s; its secret changed (a receiver of the old one refuses what follows)\n", account, w.NotificationURL)
		return w.Secret, nil
	case secretFile != "":
		s, err := readSecretFile(secretFile)
		if err != nil {
			return "", badInput("--secret-file: %v", err)
		}
		return s, nil
	}
	w, err := c.Webhook(ctx, account)
	if errors.Is(err, streamtoken.ErrNotFound) {
		return "", badInput("account %s has no webhook: give --register URL (where this guard is reached), or set one with \"webhook set\"", account)
	}
	if err != nil {
		return "", webhookFailure(err)
	}
	return w.Secret, nil
}

// guard secures the videos its notifications name.
type guard struct {
	c       *streamtoken.Client
	account string
	origins []string
	out     io.Writer
	log     *slog.Logger

	mu sync.Mutex // one video secured at a time: a burst of notifications is not a burst of API calls
}

// handle is the function webhook.Handler calls with each verified
// notification: nil once the video is secure (or needs nothing), an error
// for the sender to try again.
func (g *guard) handle(ctx context.Context, n *webhook.Notification) error {
	if n.Status.State == webhook.StateError {
		g.log.Info("a video failed to process: nothing to secure", "video", n.UID, "reason", n.Status.ErrorReasonCode)
		return nil
	}
	if !n.Ready() {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v, err := g.c.Video(ctx, g.account, n.UID)
	switch {
	case errors.Is(err, streamtoken.ErrNotFound):
		g.log.Info("a video notified is gone", "video", n.UID)
		return nil
	case err != nil:
		return fmt.Errorf("reading video %s: %w", n.UID, err)
	}
	s, changes := securing(v.RequireSignedURLs, v.AllowedOrigins, g.origins)
	if changes == nil {
		return nil // secure already: a notification again, or secured by another
	}
	got, err := g.c.SecureVideo(ctx, g.account, v.ID, s)
	if err != nil {
		return fmt.Errorf("securing video %s: %w", v.ID, err)
	}
	if !got.RequireSignedURLs || (s.AllowedOrigins != nil && len(got.AllowedOrigins) == 0) {
		return fmt.Errorf("securing video %s: the API's answer does not show it secured", v.ID)
	}
	line := "secured video " + v.ID
	if v.Name != "" {
		line += "  name " + strconv.Quote(v.Name)
	}
	if v.Creator != "" {
		line += "  creator " + strconv.Quote(v.Creator)
	}
	_, err = fmt.Fprintln(g.out, line+": "+strings.Join(changes, "; "))
	return err
}
