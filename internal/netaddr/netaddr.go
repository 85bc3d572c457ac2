// Package netaddr holds the one rule of what counts as this machine's own
// address, shared by the client (which fetches a JWK set over plain HTTP
// from loopback alone) and the command line (which warns when serve
// listens beyond it).
package netaddr

import (
	"net/netip"
	"strings"
)

// IsLoopback reports whether host (a name or an IP address, without a
// port or brackets) is this machine's own: "localhost", or an address of
// 127.0.0.0/8 or ::1 (an IPv4-mapped one too).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
