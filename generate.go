package streamtoken

// The typed client and the server interfaces in gen/ are generated from
// openapi/stream-token.yaml. Run `go generate ./...` (or
// `make generate`) after changing the spec or gen/oapi-codegen.yaml.

//go:generate go tool oapi-codegen -config gen/oapi-codegen.yaml openapi/stream-token.yaml
