package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
)

// newUploadURLCmd is "videos upload-url": a direct upload, secure from
// its creation.
func newUploadURLCmd(e env) *cobra.Command {
	var (
		f             apiFlags
		out           output
		maxDuration   time.Duration
		expiry        time.Duration
		require       bool
		origins       []string
		creator, name string
	)
	cmd := &cobra.Command{
		Use:   "upload-url --account ID --max-duration D",
		Short: "Create a video and a URL that takes one upload of it",
		Long: `Create a video with its settings, and a URL that takes one upload of it
without credentials (a multipart/form-data POST, as a browser's form sends):
POST /accounts/{account_id}/stream/direct_upload. With --require-signed-urls
the video plays only with a signed token from its first second, and with
--allowed-origin only on those sites. Prints the video's ID and the URL.
Whoever holds the URL may upload the video: hand it to the uploader alone.`,
		Example: `  streamtoken videos upload-url --account ` + exampleAccount + ` --max-duration 1h --require-signed-urls --allowed-origin example.com`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOriginFlags(origins); err != nil {
				return err
			}
			u := streamtoken.DirectUpload{MaxDuration: maxDuration, RequireSignedURLs: require, AllowedOrigins: origins,
				Creator: creator, Name: name}
			switch {
			case maxDuration < time.Second || maxDuration > wire.MaxDurationSeconds*time.Second || maxDuration%time.Second != 0:
				return badInput("--max-duration %v: want whole seconds, 1s to %v", maxDuration, wire.MaxDurationSeconds*time.Second)
			case expiry != 0 && (expiry < wire.MinUploadExpiry || expiry > wire.MaxUploadExpiry):
				return badInput("--expiry %v: want %v to %v", expiry, wire.MinUploadExpiry, wire.MaxUploadExpiry)
			case len(creator) > wire.MaxCreatorBytes:
				return badInput("--creator: at most %d bytes", wire.MaxCreatorBytes)
			}
			if expiry != 0 {
				// At the minimum, with room: the API measures it on arrival.
				u.Expiry = time.Now().Add(max(expiry, wire.MinUploadExpiry+wire.UploadExpiryRoom))
			}
			c, err := f.client(e)
			if err != nil {
				return err
			}
			up, err := c.CreateDirectUpload(cmd.Context(), f.account, u)
			if err != nil {
				return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account"})
			}
			w := cmd.OutOrStdout()
			if out.json() {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]string{"id": up.VideoID, "uploadURL": up.URL})
			}
			fmt.Fprintf(w, "video       %s\nupload URL  %s\n", up.VideoID, up.URL)
			return nil
		},
	}
	f.register(cmd)
	outputFlag(cmd.Flags(), &out, "text or json")
	cmd.Flags().DurationVar(&maxDuration, "max-duration", 0, "the longest video the URL takes (1s to 6h); required")
	_ = cmd.MarkFlagRequired("max-duration")
	cmd.Flags().DurationVar(&expiry, "expiry", 0, "how long the URL takes the upload, 2m to 6h (default 30m)")
	cmd.Flags().BoolVar(&require, "require-signed-urls", false, "the video plays only with a signed token, from its creation")
	cmd.Flags().StringArrayVar(&origins, "allowed-origin", nil, "an `ORIGIN` that may show the video (repeatable; none: any site)")
	cmd.Flags().StringVar(&creator, "creator", "", "who the video is of or by")
	cmd.Flags().StringVar(&name, "name", "", "the video's name (meta.name)")
	return cmd
}
