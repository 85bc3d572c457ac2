package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
)

// mediaView is a video's or live input's security settings as the
// commands print them.
type mediaView struct {
	ID                string   `json:"id"`
	RequireSignedURLs bool     `json:"requireSignedURLs"`
	AllowedOrigins    []string `json:"allowedOrigins"`
	Mode              string   `json:"mode,omitempty"` // live inputs' recording mode
	TimeoutSeconds    *int     `json:"timeoutSeconds,omitempty"`
	Modified          string   `json:"modified,omitempty"` // none: never changed
}

// mediaKind is what differs between the videos and live-inputs commands.
type mediaKind struct {
	use, noun, short, long, arg, pathName string
	exampleID                             string
	get                                   func(ctx context.Context, c *streamtoken.Client, account, id string) (mediaView, error)
	secure                                func(ctx context.Context, c *streamtoken.Client, account, id string, s streamtoken.Security) (mediaView, error)
}

var videoKind = mediaKind{
	use:   "videos",
	noun:  "video",
	short: "Show and set a video's requireSignedURLs and allowedOrigins",
	long: `Show and set a video's security settings: GET and POST
/accounts/{account_id}/stream/{identifier}. A signed URL protects nothing
until the video requires it: while requireSignedURLs is off, the video's
plain ID plays anywhere, token or not. "secure" switches it on (and, with
--allowed-origin, sets the sites that may embed the video); "unsecure"
switches it off. Other details of the video are left as they are.`,
	arg:       "VIDEO",
	pathName:  gen.ParamIdentifier,
	exampleID: exampleVideo,
	get: func(ctx context.Context, c *streamtoken.Client, account, id string) (mediaView, error) {
		v, err := c.Video(ctx, account, id)
		if err != nil {
			return mediaView{}, err
		}
		return videoView(v), nil
	},
	secure: func(ctx context.Context, c *streamtoken.Client, account, id string, s streamtoken.Security) (mediaView, error) {
		v, err := c.SecureVideo(ctx, account, id, s)
		if err != nil {
			return mediaView{}, err
		}
		return videoView(v), nil
	},
}

var liveInputKind = mediaKind{
	use:   "live-inputs",
	noun:  "live input",
	short: "Show and set a live input's requireSignedURLs and allowedOrigins",
	long: `Show and set a live input's security settings, which sit in its recording
settings: GET and PUT /accounts/{account_id}/stream/live_inputs/{live_input_identifier}.
The API replaces the recording settings whole, so "secure" and "unsecure"
read them first and send them back changed: the mode and the timeout stay.`,
	arg:       "INPUT",
	pathName:  gen.ParamLiveInputIdentifier,
	exampleID: "66be4bf738797e01e1fca35a7bdecdcd",
	get: func(ctx context.Context, c *streamtoken.Client, account, id string) (mediaView, error) {
		li, err := c.LiveInput(ctx, account, id)
		if err != nil {
			return mediaView{}, err
		}
		return liveInputView(li), nil
	},
	secure: func(ctx context.Context, c *streamtoken.Client, account, id string, s streamtoken.Security) (mediaView, error) {
		li, err := c.SecureLiveInput(ctx, account, id, s)
		if err != nil {
			return mediaView{}, err
		}
		return liveInputView(li), nil
	},
}

func videoView(v *streamtoken.Video) mediaView {
	return mediaView{ID: v.ID, RequireSignedURLs: v.RequireSignedURLs, AllowedOrigins: v.AllowedOrigins, Modified: modified(v.Modified)}
}

// modified is a medium's modification time, or "" when it was never
// changed.
func modified(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return utc(t)
}

func liveInputView(li *streamtoken.LiveInput) mediaView {
	timeout := li.TimeoutSeconds
	return mediaView{ID: li.ID, RequireSignedURLs: li.RequireSignedURLs, AllowedOrigins: li.AllowedOrigins,
		Mode: li.Mode, TimeoutSeconds: &timeout, Modified: modified(li.Modified)}
}

func newMediaCmd(e env, k mediaKind) *cobra.Command {
	cmd := &cobra.Command{
		Use:   k.use,
		Short: k.short,
		Long: k.long + `

Credentials come from the environment only: CLOUDFLARE_API_TOKEN, or
CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY. --base-url points the commands
at another server on the same wire, such as "streamtoken serve".`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		newMediaActionCmd(e, k, "show", "Show the security settings", nil),
		newMediaActionCmd(e, k, "secure", "Require signed URLs (and set the allowed origins)", new(true)),
		newMediaActionCmd(e, k, "unsecure", "Stop requiring signed URLs", new(false)),
	)
	if k.use == videoKind.use {
		cmd.AddCommand(newUploadURLCmd(e), newVideoDeleteCmd(e))
	}
	return cmd
}

// newVideoDeleteCmd is "videos delete".
func newVideoDeleteCmd(e env) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "delete VIDEO --account ID",
		Short: "Delete a video and its copies",
		Long: `Delete a video and its copies: DELETE /accounts/{account_id}/stream/{identifier}.
On Cloudflare the video is gone; on "streamtoken serve", what the server
keeps of it (its details, a pending direct upload, whose URL then takes
nothing). An unknown video is an error (exit 1).`,
		Example: `  streamtoken videos delete ` + exampleVideo + ` --account ` + exampleAccount + `
  streamtoken videos delete ` + exampleVideo + ` --account ` + exampleAccount + ` --base-url http://127.0.0.1:8787/client/v4`,
		Args: exactArgs(1, "VIDEO"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if err := c.DeleteVideo(cmd.Context(), f.account, args[0]); err != nil {
				return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account", gen.ParamIdentifier: "VIDEO"})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// newMediaActionCmd is show (require nil) or secure/unsecure.
func newMediaActionCmd(e env, k mediaKind, name, short string, require *bool) *cobra.Command {
	var (
		f         apiFlags
		out       output
		origins   []string
		anyOrigin bool
	)
	cmd := &cobra.Command{
		Use:     name + " " + k.arg + " --account ID",
		Short:   short,
		Args:    exactArgs(1, k.arg),
		Example: fmt.Sprintf("  streamtoken %s %s %s --account %s%s", k.use, name, k.exampleID, exampleAccount, exampleFlags(name)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOriginFlags(origins); err != nil {
				return err
			}
			if anyOrigin && len(origins) > 0 {
				return badInput("--any-origin: not with --allowed-origin")
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			var view mediaView
			if require == nil {
				view, err = k.get(cmd.Context(), c, f.account, args[0])
			} else {
				s := streamtoken.Security{RequireSignedURLs: require}
				if len(origins) > 0 || anyOrigin {
					s.AllowedOrigins = streamtoken.Origins(origins...) // none: every origin
				}
				view, err = k.secure(cmd.Context(), c, f.account, args[0], s)
			}
			if err != nil {
				return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account", k.pathName: k.arg})
			}
			return printMedia(cmd.OutOrStdout(), k, view, out)
		},
	}
	f.register(cmd)
	outputFlag(cmd.Flags(), &out, "text or json")
	if require != nil {
		if *require {
			cmd.Flags().StringArrayVar(&origins, "allowed-origin", nil, "an `ORIGIN` that may show it: a host name, '*.' first for its subdomains, ':port' after (repeatable; none given leaves the list as it is)")
		}
		cmd.Flags().BoolVar(&anyOrigin, "any-origin", false, "let every site show it again (an empty allowedOrigins)")
	}
	return cmd
}

func exampleFlags(action string) string {
	if action == "secure" {
		return " --allowed-origin example.com"
	}
	return ""
}

// printMedia prints view as text (one setting a line) or JSON.
func printMedia(w io.Writer, k mediaKind, view mediaView, out output) error {
	if out.json() {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(view)
	}
	origins := "any"
	if len(view.AllowedOrigins) > 0 {
		origins = strings.Join(view.AllowedOrigins, ", ")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", k.noun, view.ID)
	fmt.Fprintf(tw, "requireSignedURLs\t%t\n", view.RequireSignedURLs)
	fmt.Fprintf(tw, "allowedOrigins\t%s\n", origins)
	if view.Mode != "" {
		fmt.Fprintf(tw, "recording mode\t%s\n", view.Mode)
		fmt.Fprintf(tw, "timeoutSeconds\t%d\n", *view.TimeoutSeconds)
	}
	fmt.Fprintf(tw, "modified\t%s\n", cmp.Or(view.Modified, "never"))
	return tw.Flush()
}
