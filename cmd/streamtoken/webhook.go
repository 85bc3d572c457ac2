package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/webhook"
)

// webhookFailure maps a webhook-API error onto an exit code and one line.
func webhookFailure(err error) error {
	return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account"})
}

func newWebhookCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Set, show and delete the account's webhook",
		Long: `Set, show and delete the account's webhook: GET, PUT and DELETE
/accounts/{account_id}/stream/webhook. Stream sends it a notification,
signed with the webhook's secret, when a video is ready to stream or has
failed; "streamtoken guard" is a receiver that secures each new video.

The secret is never printed unless --show-secret; --secret-file FILE saves
it (mode 0600) for a receiver. Each "webhook set" makes a new secret.
Credentials come from the environment only: CLOUDFLARE_API_TOKEN, or
CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newWebhookSetCmd(e), newWebhookShowCmd(e), newWebhookDeleteCmd(e))
	return cmd
}

// webhookOutput is what set and show print of a webhook.
type webhookOutput struct {
	f          apiFlags
	out        output
	showSecret bool
	secretFile string
}

func (o *webhookOutput) register(cmd *cobra.Command) {
	o.f.register(cmd)
	outputFlag(cmd.Flags(), &o.out, "text or json")
	cmd.Flags().BoolVar(&o.showSecret, "show-secret", false, "print the webhook's secret (by default it is not)")
	cmd.Flags().StringVar(&o.secretFile, "secret-file", "", "save the webhook's secret to `FILE`, mode 0600 (replacing it)")
}

// print prints w, and saves its secret when asked.
func (o *webhookOutput) print(cmd *cobra.Command, w *streamtoken.Webhook, changed bool) error {
	if o.secretFile != "" {
		if err := writeSecretFile(o.secretFile, w.Secret.Reveal()); err != nil {
			return failure(fmt.Errorf("--secret-file: %w", err))
		}
	}
	secret := "[not shown: --show-secret prints it, --secret-file FILE saves it]"
	switch {
	case o.showSecret:
		secret = w.Secret.Reveal()
	case o.secretFile != "":
		secret = "saved to " + o.secretFile
	}
	if o.out.json() {
		v := map[string]any{"notificationUrl": w.NotificationURL, "modified": w.Modified}
		if o.showSecret {
			v["secret"] = w.Secret.Reveal()
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "notificationUrl\t%s\n", w.NotificationURL)
	fmt.Fprintf(tw, "modified\t%s\n", w.Modified.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "secret\t%s\n", secret)
	if err := tw.Flush(); err != nil {
		return err
	}
	if changed {
		fmt.Fprintln(cmd.ErrOrStderr(), "the webhook's secret changed: its receivers need the new one")
	}
	return nil
}

func newWebhookSetCmd(e env) *cobra.Command {
	var o webhookOutput
	cmd := &cobra.Command{
		Use:   "set URL --account ID",
		Short: "Set the account's webhook to URL, with a new secret",
		Long: `Set the account's webhook to URL (replacing any it had): notifications
go there from now on, signed with a new secret, which replaces the old one
at once. Save it for the receiver with --secret-file FILE.`,
		Example: `  streamtoken webhook set https://example.com/stream-webhook --account ` + exampleAccount + ` --secret-file webhook.secret`,
		Args:    exactArgs(1, "URL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.f.client(e)
			if err != nil {
				return err
			}
			w, err := c.SetWebhook(cmd.Context(), o.f.account, args[0])
			if err != nil {
				return webhookFailure(err)
			}
			return o.print(cmd, w, true)
		},
	}
	o.register(cmd)
	return cmd
}

func newWebhookShowCmd(e env) *cobra.Command {
	var o webhookOutput
	cmd := &cobra.Command{
		Use:   "show --account ID",
		Short: "Show the account's webhook",
		Long:  `Show the account's webhook: its URL and when it was set; its secret only with --show-secret (or saved by --secret-file). An account without one exits 1.`,
		Example: `  streamtoken webhook show --account ` + exampleAccount + `
  streamtoken webhook show --account ` + exampleAccount + ` --secret-file webhook.secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.f.client(e)
			if err != nil {
				return err
			}
			w, err := c.Webhook(cmd.Context(), o.f.account)
			if err != nil {
				return webhookFailure(err)
			}
			return o.print(cmd, w, false)
		},
	}
	o.register(cmd)
	return cmd
}

func newWebhookDeleteCmd(e env) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:     "delete --account ID",
		Short:   "Delete the account's webhook",
		Long:    `Delete the account's webhook: no notification is sent after it. An account without one exits 1.`,
		Example: `  streamtoken webhook delete --account ` + exampleAccount,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if err := c.DeleteWebhook(cmd.Context(), f.account); err != nil {
				return webhookFailure(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "deleted the webhook of", f.account)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// writeSecretFile writes secret to path, mode 0600, through a temporary
// file renamed over it: a reader sees the old secret or the new one.
func writeSecretFile(path, secret string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".streamtoken-secret-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// readSecretFile reads a webhook secret saved by --secret-file.
func readSecretFile(path string) (webhook.Secret, error) {
	data, err := files.Read(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(data))
	if s == "" || len(s) > 256 || strings.ContainsAny(s, "\n\r") {
		return "", fmt.Errorf("%s: not a webhook secret (one line of 1 to 256 characters)", path)
	}
	return webhook.Secret(s), nil
}
