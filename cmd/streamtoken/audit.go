package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/server"
)

// exitUnprotected is audit's code when media play without a token or on
// any site: so that a CI job can gate on it.
const exitUnprotected = 6

// exitIncomplete is audit's code when every medium it saw is protected but
// it could not see them all: it never says "all protected" then.
const exitIncomplete = 7

// The problems audit finds.
const (
	problemNoToken = "plays without a token"
	problemAnySite = "plays on any site"
)

// finding is a medium that audit finds not protected.
type finding struct {
	Kind              string   `json:"kind"` // "video" or "live input"
	ID                string   `json:"id"`
	Name              string   `json:"name,omitempty"`
	Creator           string   `json:"creator,omitempty"`
	RequireSignedURLs bool     `json:"requireSignedURLs"`
	AllowedOrigins    []string `json:"allowedOrigins"`
	Problems          []string `json:"problems"`
	// Fixed says what --fix changed; Left what it could not.
	Fixed []string `json:"fixed,omitempty"`
	Left  []string `json:"left,omitempty"`
}

// unseen is a kind of media that audit could not see whole.
type unseen struct {
	Kind string `json:"kind"` // "videos" or "live inputs"
	// Listed is how many were audited, Total how many the API counts (0:
	// it did not say), Skipped how many it listed with an ID that is not
	// one.
	Listed  int    `json:"listed"`
	Total   int    `json:"total,omitempty"`
	Skipped int    `json:"skipped,omitempty"`
	Why     string `json:"why"`
}

// auditReport is what audit prints as JSON.
type auditReport struct {
	Account    string    `json:"account"`
	Videos     int       `json:"videos"`
	LiveInputs int       `json:"liveInputs"`
	Findings   []finding `json:"findings"`
	// Unprotected counts the media that are still not protected once
	// --fix has run (without it: every finding).
	Unprotected int `json:"unprotected"`
	// Incomplete lists what the audit did not see: empty when it saw
	// every medium.
	Incomplete []unseen `json:"incomplete"`
	// Server is what the server audited said it is, by its
	// Streamtoken-Mode header: "stand-in" (what it keeps lives in it
	// alone), or "" (it said nothing: Cloudflare, or another API).
	Server string `json:"server,omitempty"`
	// found counts the findings, which text output does not keep.
	found int
}

// auditor runs one audit, printing text lines as it finds them.
type auditor struct {
	c       *streamtoken.Client
	fix     bool
	origins []string
	w       io.Writer
	out     output
	r       auditReport
}

func newAuditCmd(e env) *cobra.Command {
	var (
		f         apiFlags
		out       output
		fix       bool
		origins   []string
		maxVideos int
	)
	cmd := &cobra.Command{
		Use:   "audit --account ID",
		Short: "List the videos and live inputs that play without a token or on any site",
		Long: `List the account's videos and live inputs that are not protected: those
that play without a token (requireSignedURLs off: a signed URL protects
nothing then) and those that play on any site (no allowedOrigins). One line
each, printed as found, with the video's name and creator when it has them,
then a summary. --output json prints one document at the end.

Exit codes: 0 when every video and live input is protected; 6 when any is
not (so that a CI job can fail on it); 7 when every one seen is protected
but the audit could not see them all (the API lists at most 1,000 live
inputs, the newest, with no way to page past them; a medium listed with an
ID that is not one is skipped; --max-videos stopped the listing); 1 when
the API fails, 2 for bad input. The summary says what was not seen.

--fix secures what it finds: it prints each change first, then makes it:
requireSignedURLs on, and, with --allowed-origin, the sites that may show
the medium where it had none. A medium counts as secured only when the
API's answer says so for that medium. A medium that plays on any site stays
so without --allowed-origin (and audit still exits 6). A medium that cannot
be changed (gone since it was listed, say) is left, and the audit goes on.
Running it again changes nothing: what it secured is no longer found.

Live inputs are read one by one, for their recording settings: the list of
live inputs does not have them. Nothing a server answers is printed raw:
names are quoted, IDs checked. Credentials come from the environment
(CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY).`,
		Example: `  streamtoken audit --account ` + exampleAccount + `
  streamtoken audit --account ` + exampleAccount + ` --output json
  streamtoken audit --account ` + exampleAccount + ` --fix --allowed-origin example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !fix && len(origins) > 0 {
				return badInput("--allowed-origin: only with --fix")
			}
			if err := checkOriginFlags(origins); err != nil {
				return err
			}
			if maxVideos < 0 {
				return badInput("--max-videos %d: want 0 (no maximum) or more", maxVideos)
			}
			mode := &modeRecorder{next: http.DefaultTransport}
			c, err := f.client(e, streamtoken.WithHTTPClient(&http.Client{Timeout: 30 * time.Second, Transport: mode}))
			if err != nil {
				return err
			}
			a := &auditor{c: c, fix: fix, origins: origins, w: cmd.OutOrStdout(), out: out,
				r: auditReport{Account: f.account, Findings: []finding{}, Incomplete: []unseen{}}}
			err = a.run(cmd.Context(), maxVideos)
			a.r.Server = mode.seen()
			if err != nil {
				return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account"})
			}
			if err := a.summary(); err != nil {
				return err
			}
			switch r := a.r; {
			case r.Unprotected > 0:
				return &exitError{code: exitUnprotected, err: fmt.Errorf("%s not protected", count(r.Unprotected, "medium is", "media are"))}
			case len(r.Incomplete) > 0:
				return &exitError{code: exitIncomplete, err: errors.New("the audit did not see every medium: " + unseenText(r.Incomplete))}
			}
			return nil
		},
	}
	f.register(cmd)
	outputFlag(cmd.Flags(), &out, "text or json")
	cmd.Flags().BoolVar(&fix, "fix", false, "secure what is found (printing each change first)")
	cmd.Flags().StringArrayVar(&origins, "allowed-origin", nil, "with --fix: an `ORIGIN` that may show the media that play on any site (repeatable)")
	cmd.Flags().IntVar(&maxVideos, "max-videos", 0, "audit at most `N` videos, the oldest (0: every one; more is reported as not seen)")
	return cmd
}

// checkOriginFlags checks --allowed-origin values by the API's rules.
func checkOriginFlags(origins []string) error {
	if len(origins) > streamtoken.MaxAllowedOrigins {
		return badInput("--allowed-origin: at most %d", streamtoken.MaxAllowedOrigins)
	}
	for _, o := range origins {
		if why := wire.CheckOrigin(o); why != "" {
			return badInput("--allowed-origin %q: %s", o, why)
		}
	}
	return nil
}

// run lists the account's media, finds those not protected, and (with
// --fix) secures each as it is found. A listing that is incomplete is
// noted, not fatal: the audit goes on with what it saw.
func (a *auditor) run(ctx context.Context, maxVideos int) error {
	for v, err := range a.c.ListVideos(ctx, a.r.Account, streamtoken.VideoFilter{Asc: true, Max: maxVideos}) {
		if err != nil {
			return a.incomplete(err)
		}
		a.r.Videos++
		if fd, ok := check("video", v.ID, v.Name, v.Creator, v.RequireSignedURLs, v.AllowedOrigins); ok {
			if err := a.found(ctx, fd); err != nil {
				return err
			}
		}
	}
	for li, err := range a.c.ListLiveInputs(ctx, a.r.Account) {
		if err != nil {
			return a.incomplete(err)
		}
		a.r.LiveInputs++
		if fd, ok := check("live input", li.ID, li.Name, "", li.RequireSignedURLs, li.AllowedOrigins); ok {
			if err := a.found(ctx, fd); err != nil {
				return err
			}
		}
	}
	return nil
}

// incomplete notes a listing that could not see every medium, and returns
// any other error.
func (a *auditor) incomplete(err error) error {
	var inc *streamtoken.IncompleteListError
	if !errors.As(err, &inc) {
		return err
	}
	u := unseen{Kind: inc.Kind, Listed: inc.Listed, Total: inc.Total, Skipped: inc.Skipped}
	switch {
	case inc.Max > 0:
		u.Why = fmt.Sprintf("--max-videos %d: more follow", inc.Max)
	case inc.Total > inc.Listed+inc.Skipped:
		u.Why = fmt.Sprintf("the API lists %d of %d", inc.Listed+inc.Skipped, inc.Total)
	case inc.Total == 0 && inc.Skipped == 0:
		u.Why = "a full page, and the API did not say how many there are"
	}
	if inc.Skipped > 0 {
		u.Why = strings.TrimPrefix(u.Why+"; ", "; ") + fmt.Sprintf("%d listed with an ID that is not one", inc.Skipped)
	}
	a.r.Incomplete = append(a.r.Incomplete, u)
	return nil
}

// found handles a finding: secures it with --fix, then prints it (as
// text) or keeps it (for JSON).
func (a *auditor) found(ctx context.Context, fd finding) error {
	a.r.found++
	if a.fix {
		if err := a.secure(ctx, &fd); err != nil {
			return err
		}
	}
	if !a.fix || len(fd.Left) > 0 {
		a.r.Unprotected++
	}
	if a.out.json() {
		a.r.Findings = append(a.r.Findings, fd)
		return nil
	}
	state := strings.Join(fd.Problems, ", ")
	if fd.Fixed != nil && len(fd.Left) == 0 {
		state = "secured (was: " + state + ")"
	}
	line := fmt.Sprintf("%-10s %s  %s", fd.Kind, fd.ID, state)
	if fd.Name != "" {
		line += "  name " + strconv.Quote(fd.Name)
	}
	if fd.Creator != "" {
		line += "  creator " + strconv.Quote(fd.Creator)
	}
	if len(fd.Left) > 0 {
		line += "  [left: " + strings.Join(fd.Left, "; ") + "]"
	}
	_, err := fmt.Fprintln(a.w, line)
	return err
}

// check is the finding of a medium, if it is not protected.
func check(kind, id, name, creator string, require bool, origins []string) (finding, bool) {
	fd := finding{Kind: kind, ID: id, Name: name, Creator: creator, RequireSignedURLs: require, AllowedOrigins: origins}
	if fd.AllowedOrigins == nil {
		fd.AllowedOrigins = []string{}
	}
	if !require {
		fd.Problems = append(fd.Problems, problemNoToken)
	}
	if len(origins) == 0 {
		fd.Problems = append(fd.Problems, problemAnySite)
	}
	return fd, len(fd.Problems) > 0
}

// securing is what securing a medium changes, for audit --fix and guard:
// requireSignedURLs on where it is off (require), and origins where it has
// none (has) and some are given; the Security to send, and the changes as
// both print them (nil: nothing to change).
func securing(require bool, has, origins []string) (streamtoken.Security, []string) {
	var s streamtoken.Security
	var changes []string
	if !require {
		s.RequireSignedURLs = new(true)
		changes = append(changes, "requireSignedURLs false -> true")
	}
	if len(has) == 0 && len(origins) > 0 {
		s.AllowedOrigins = streamtoken.Origins(origins...)
		changes = append(changes, "allowedOrigins any -> "+strings.Join(origins, ", "))
	}
	return s, changes
}

// secure makes what --fix changes of a finding, printing it first (as
// text). A refusal of the medium itself (gone, or refused as invalid) is
// left in the finding; any other failure ends the audit.
func (a *auditor) secure(ctx context.Context, fd *finding) error {
	s, changes := securing(fd.RequireSignedURLs, fd.AllowedOrigins, a.origins)
	if len(fd.AllowedOrigins) == 0 && len(a.origins) == 0 {
		fd.Left = append(fd.Left, problemAnySite+" (no --allowed-origin given)")
	}
	if changes == nil {
		return nil
	}
	if !a.out.json() {
		fmt.Fprintf(a.w, "fixing %s %s: %s\n", fd.Kind, fd.ID, strings.Join(changes, "; "))
	}
	var (
		id      string
		require bool
		origins []string
		err     error
	)
	if fd.Kind == "video" {
		var v *streamtoken.Video
		if v, err = a.c.SecureVideo(ctx, a.r.Account, fd.ID, s); err == nil {
			id, require, origins = v.ID, v.RequireSignedURLs, v.AllowedOrigins
		}
	} else {
		var li *streamtoken.LiveInput
		if li, err = a.c.SecureLiveInput(ctx, a.r.Account, fd.ID, s); err == nil {
			id, require, origins = li.ID, li.RequireSignedURLs, li.AllowedOrigins
		}
	}
	switch {
	case errors.Is(err, streamtoken.ErrNotFound) || errors.Is(err, streamtoken.ErrInvalid):
		fd.Left = append(fd.Left, "not secured: "+err.Error())
	case err != nil:
		return fmt.Errorf("securing %s %s: %w", fd.Kind, fd.ID, err)
	case id != fd.ID || !require || (s.AllowedOrigins != nil && !slices.Equal(origins, a.origins)):
		fd.Left = append(fd.Left, "not secured: the API's answer does not show this "+fd.Kind+" secured")
	default:
		fd.Fixed = changes
	}
	return nil
}

// summary prints the report's end: as text, a summary line (the findings
// were printed as found); or the whole report as JSON.
func (a *auditor) summary() error {
	r := a.r
	if a.out.json() {
		enc := json.NewEncoder(a.w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	seen := func(n int, one, many string) string {
		for _, u := range r.Incomplete {
			if u.Kind == many && u.Total > n {
				return fmt.Sprintf("%d of %d %s", n, u.Total, many)
			}
		}
		return count(n, one, many)
	}
	fmt.Fprintf(a.w, "%s and %s audited: ", seen(r.Videos, "video", "videos"), seen(r.LiveInputs, "live input", "live inputs"))
	switch {
	case r.found == 0 && len(r.Incomplete) == 0:
		fmt.Fprintln(a.w, "all protected")
	case r.found == 0:
		fmt.Fprintln(a.w, "all those seen protected")
	case r.Unprotected == 0 && len(r.Incomplete) == 0:
		fmt.Fprintf(a.w, "%s secured, all protected now\n", count(r.found, "medium", "media"))
	case r.Unprotected == 0:
		fmt.Fprintf(a.w, "%s secured, all those seen protected now\n", count(r.found, "medium", "media"))
	default:
		fmt.Fprintf(a.w, "%s not protected\n", count(r.Unprotected, "medium", "media"))
	}
	if len(r.Incomplete) > 0 {
		fmt.Fprintln(a.w, "not seen: "+unseenText(r.Incomplete))
	}
	if r.Server == server.ModeStandIn {
		fmt.Fprintln(a.w, "server: a streamtoken stand-in: what it keeps lives in it alone, not at Cloudflare")
	}
	return nil
}

// modeRecorder passes requests on, and keeps what the server says it is
// (its Streamtoken-Mode header), when it is a mode this command knows.
type modeRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	mode string
}

func (m *modeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	if resp != nil && resp.Header.Get(server.ModeHeader) == server.ModeStandIn {
		m.mu.Lock()
		m.mode = server.ModeStandIn
		m.mu.Unlock()
	}
	return resp, err
}

// seen is the mode the server said, or "".
func (m *modeRecorder) seen() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mode
}

// unseenText says what the audit did not see, on one line.
func unseenText(us []unseen) string {
	parts := make([]string, 0, len(us))
	for _, u := range us {
		parts = append(parts, u.Kind+" ("+u.Why+")")
	}
	return strings.Join(parts, "; ")
}

// count is n with the noun's singular or plural.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
