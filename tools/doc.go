// Package tools pins the tools streamtoken's Makefile runs that are too big
// for the library's go.mod (oasdiff, GoReleaser): "go tool -modfile
// tools/go.mod NAME" runs them, and a user's "go get" of the library never
// sees them.
package tools
