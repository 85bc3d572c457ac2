package streamtoken

// The typed client and the server interfaces in gen/, the error codes of
// package apicode and the README's table of them are generated from
// openapi/stream-token.yaml. Run `go generate ./...` (or `make generate`)
// after changing the spec or gen/oapi-codegen.yaml.

//go:generate go tool oapi-codegen -config gen/oapi-codegen.yaml openapi/stream-token.yaml
//go:generate go run ./internal/gencodes -spec openapi/stream-token.yaml -go apicode/codes.gen.go -readme README.md
//go:generate go run ./internal/genops -spec openapi/stream-token.yaml -out gen/operations.gen.go
//go:generate go run ./internal/gendocs -out server/docs
