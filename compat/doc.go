// Package compat holds the tests that run Cloudflare's official Go SDK,
// cloudflare-go v6, unchanged against streamtoken's token server. It is a
// module of its own so that the SDK never enters streamtoken's dependencies.
package compat
