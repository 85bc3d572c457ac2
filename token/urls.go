package token

import (
	"errors"
	"fmt"
	"strings"
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

// MaxCustomerCodeLength is the longest customer code: the host's first
// label, customer-<CODE>, is at most 63 bytes, and the prefix takes 9.
const MaxCustomerCodeLength = 63 - len("customer-")

// ErrCustomerCode means a customer code is not the 1 to 54 lowercase letters
// and digits of a customer-<CODE>.cloudflarestream.com subdomain.
var ErrCustomerCode = errors.New("customer code must be 1 to 54 lowercase letters and digits")

// CheckCustomerCode reports whether code can be the account's customer
// subdomain code, as [SignedURLs] needs it; the error matches
// [ErrCustomerCode] and quotes at most the code's start.
func CheckCustomerCode(code string) error {
	if code == "" || len(code) > MaxCustomerCodeLength {
		return fmt.Errorf("%s: %w", quote(code), ErrCustomerCode)
	}
	for _, c := range []byte(code) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return fmt.Errorf("%s: %w", quote(code), ErrCustomerCode)
		}
	}
	return nil
}

// SignedURLs returns the URLs under
// https://customer-<customerCode>.cloudflarestream.com/<token>/ at which a
// viewer uses the token. The customer code is the account's subdomain code,
// shown in the Stream dashboard (see [CheckCustomerCode]). The token must
// have a JWS compact shape, three base64url segments joined by dots, so
// that nothing in it can move the URL elsewhere; its signature is not
// checked. The error never holds the token.
func SignedURLs(customerCode, token string) (URLs, error) {
	if err := CheckCustomerCode(customerCode); err != nil {
		return URLs{}, err
	}
	if !compactShape(token) {
		return URLs{}, fmt.Errorf("%w: want three base64url segments joined by dots", ErrMalformed)
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

// compactShape reports whether s is three non-empty segments of base64url
// characters (unpadded) joined by two dots.
func compactShape(s string) bool {
	if strings.Count(s, ".") != 2 {
		return false
	}
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" {
			return false
		}
		for _, c := range []byte(seg) {
			if !isBase64URL(c) {
				return false
			}
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
