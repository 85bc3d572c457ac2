package server

import "github.com/streamtoken/streamtoken/gen"

// BasePath is where the API is served, as Cloudflare's.
const BasePath = "/client/v4"

// operations are the operations by the ServeMux pattern that serves them.
var operations = func() map[string]string {
	ops := map[string]string{}
	for _, r := range gen.Routes() {
		path := BasePath + r.Path
		if r.Root {
			path = r.Path
		}
		ops[r.Method+" "+path] = r.Operation
	}
	return ops
}()

// operationOf is the operation a ServeMux pattern serves, or "": for
// the request's span.
func operationOf(pattern string) string { return operations[pattern] }

// mediaService is the spec's name of the media operations' service.
const mediaService = "Media"

// serviceOf is each operation's service, as the spec groups them.
var serviceOf = func() map[string]string {
	m := map[string]string{}
	for _, r := range gen.Routes() {
		m[r.Operation] = r.Service
	}
	return m
}()
