package token

import (
	"errors"
	"fmt"
)

// URLs are the signed URLs of a video for one token: the player, the watch
// page, the HLS and DASH manifests, the thumbnail and the MP4 download
// (which works only with a downloadable token).
type URLs struct {
	Iframe    string `json:"iframe"`
	Watch     string `json:"watch"`
	HLS       string `json:"hls"`
	DASH      string `json:"dash"`
	Thumbnail string `json:"thumbnail"`
	Download  string `json:"download"`
}

// ErrCustomerCode means a customer code is not the lowercase letters and
// digits of a customer-<CODE>.cloudflarestream.com subdomain.
var ErrCustomerCode = errors.New("customer code must be lowercase letters and digits")

// SignedURLs returns the URLs under
// https://customer-<customerCode>.cloudflarestream.com/<token>/ at which a
// viewer uses the token. The customer code is the account's subdomain code,
// shown in the Stream dashboard. It does not check the token.
func SignedURLs(customerCode, token string) (URLs, error) {
	if !validCustomerCode(customerCode) {
		return URLs{}, fmt.Errorf("%q: %w", customerCode, ErrCustomerCode)
	}
	if token == "" {
		return URLs{}, errors.New("empty token")
	}
	base := "https://customer-" + customerCode + ".cloudflarestream.com/" + token + "/"
	return URLs{
		Iframe:    base + "iframe",
		Watch:     base + "watch",
		HLS:       base + "manifest/video.m3u8",
		DASH:      base + "manifest/video.mpd",
		Thumbnail: base + "thumbnails/thumbnail.jpg",
		Download:  base + "downloads/default.mp4",
	}, nil
}

func validCustomerCode(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
