// Package openapi holds the API's OpenAPI 3.0.3 spec, stream-token.yaml,
// embedded as written, and loads it with kin-openapi for servers that check
// requests against it (see server.NewRequestChecker).
//
// The spec lives here rather than in the generated package gen, so that a
// program that only uses the typed client never links kin-openapi or a YAML
// parser.
package openapi

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed stream-token.yaml
var spec []byte

// YAML returns the spec exactly as written: comments, order and all.
func YAML() []byte { return bytes.Clone(spec) }

// Load parses the spec, resolving its references, and validates it. Each
// call returns a new document, which the caller may change (a server may add
// its own operations to a copy).
func Load() (*openapi3.T, error) {
	return Parse(spec)
}

// Parse parses and validates an OpenAPI document in YAML or JSON, such as
// a copy of the spec a user extended with operations of their own.
func Parse(data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi: invalid spec: %w", err)
	}
	return doc, nil
}
