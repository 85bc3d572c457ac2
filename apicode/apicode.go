// Package apicode holds the error codes of a response envelope's errors[]:
// Cloudflare's own (Authentication, Forbidden) and streamtoken's server's,
// which are stable and at least 1000. It is a leaf: the client, the server
// and streamtokentest share it without importing each other.
//
// The constants are generated from the spec's list
// (components.x-error-codes of openapi/stream-token.yaml), which the
// README's table comes from too: a code is added there, then go generate.
package apicode

import "strconv"

// Code is an error code. The client reads any code into a Code; the
// server answers with the constants.
type Code int

// info is what the spec says of a code.
type info struct {
	name    string
	status  []int
	meaning string
}

// String is the code's number.
func (c Code) String() string { return strconv.Itoa(int(c)) }

// Name is the constant's name ("KeyLimit"), or "" for a code not listed.
func (c Code) Name() string { return known[c].name }

// Statuses are the HTTP statuses the server answers the code with, or nil
// for a code not listed.
func (c Code) Statuses() []int { return append([]int(nil), known[c].status...) }

// Meaning is what the code says, as the spec words it, or "" for a code
// not listed.
func (c Code) Meaning() string { return known[c].meaning }
