package server

import (
	"embed"
	"net/http"
)

// docs are Redoc's standalone bundle, pinned and put here by go generate
// (internal/gendocs), and its licences.
//
//go:embed docs/redoc.standalone.js docs/redoc.standalone.js.LICENSE.txt docs/REDOC-LICENSE
var docs embed.FS

// docsPage is /docs: the served spec (/openapi.json) rendered by Redoc,
// every byte from this server.
const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamtoken: API reference</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
`

// docsPolicy keeps the page's every request on this server: a browser
// refuses any other origin.
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveDocs serves /docs and the files it loads.
func serveDocs(mux *http.ServeMux) {
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", docsPolicy)
		_, _ = w.Write([]byte(docsPage))
	})
	files := http.FileServerFS(docs)
	mux.HandleFunc("GET /docs/{file}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", docsPolicy)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
