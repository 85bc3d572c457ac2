package server_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/openapi"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// kmsKey stands for a key in a KMS or an HSM: a crypto.Signer whose
// private half the program never holds. (Here it wraps a key in memory.)
type kmsKey struct{ key *rsa.PrivateKey }

func (k kmsKey) Public() crypto.PublicKey { return &k.key.PublicKey }
func (k kmsKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.key.Sign(r, digest, opts)
}

// tokenServer implements the generated strict interface with its own
// logging, and leaves the token operation to server.TokenService, the
// signing-keys operations to server.KeyService and the video and
// live-input operations to the Cloudflare stand-in, standin.Service.
type tokenServer struct {
	*server.KeyService
	*standin.Service
	tokens server.TokenService
	log    *slog.Logger
}

var _ gen.StrictServerInterface = (*tokenServer)(nil)

func (s *tokenServer) CreateStreamToken(ctx context.Context, req gen.CreateStreamTokenRequestObject) (gen.CreateStreamTokenResponseObject, error) {
	s.log.InfoContext(ctx, "token request", "account", req.AccountID, "video", req.Identifier)
	return s.tokens.CreateStreamToken(ctx, req)
}

// newTokenServer assembles a server from the generated stubs and the
// package's blocks: every answer an envelope, the spec's checks, the
// credentials' checks, and a signer of one's choosing.
func newTokenServer(signer *token.Signer, creds []server.Credential, logger *slog.Logger) (http.Handler, error) {
	spec, err := openapi.Load()
	if err != nil {
		return nil, err
	}
	auth, err := server.NewAuthenticator(creds)
	if err != nil {
		return nil, err
	}
	checker, err := server.NewRequestChecker(spec, server.BasePath)
	if err != nil {
		return nil, err
	}
	// Under overload, signatures wait their turn (one per core; a 429 past
	// 250 ms of waiting), and identical requests share one signature.
	queue, err := server.NewSigningQueue(server.SigningQueueConfig{})
	if err != nil {
		return nil, err
	}
	cache, err := server.NewTokenCache(server.TokenCacheConfig{})
	if err != nil {
		return nil, err
	}
	state := store.NewMemory(0) // keys created through the API, video settings
	impl := &tokenServer{log: logger, tokens: server.TokenService{
		// One KMS key for every account: a server of one account. With
		// several, return a signer of each account's own, so that a
		// token of one verifies for no other.
		Signer: func(context.Context, string) (*token.Signer, error) { return signer, nil },
		Queue:  queue,
		Cache:  cache,
	}, KeyService: &server.KeyService{Store: state},
		Service: &standin.Service{Store: state}}
	mux := http.NewServeMux()
	// UploadOrigin makes direct uploads' URLs absolute, from each request's
	// origin (behind a TLS proxy, set Service.UploadURL from
	// standin.UploadURLs(publicURL) instead).
	gen.HandlerWithOptions(gen.NewStrictHandlerWithOptions(impl, []gen.StrictMiddlewareFunc{standin.UploadOrigin}, server.StrictOptions(logger)), gen.StdHTTPServerOptions{
		BaseURL:    server.BasePath,
		BaseRouter: mux,
		// The last runs first: authentication, then the spec's checks.
		Middlewares:      []gen.MiddlewareFunc{checker.Middleware, auth.Middleware},
		ErrorHandlerFunc: server.ParamErrorHandler,
	})
	// The accounts' JWK sets, public, for verifiers: the KMS key, and the
	// keys created through the keys API.
	keySets, err := server.KeySets(server.KeySetsConfig{Credentials: creds, Logger: logger,
		Keys: func(ctx context.Context, account string) ([]*token.Key, error) {
			created, err := state.Keys(ctx, account)
			keys := []*token.Key{signer.PublicKey()}
			for _, k := range created {
				keys = append(keys, k.Key)
			}
			return keys, err
		}})
	if err != nil {
		return nil, err
	}
	keySets(mux)
	// The upload URLs, which take no credentials.
	mux.HandleFunc(gen.UploadVideoRoute.Method+" "+gen.UploadVideoRoute.Path, impl.ServeUpload)
	mux.Handle("/", server.NoRoute(spec, server.BasePath))
	return server.RefuseUncleanPaths(mux), nil
}

// A custom token server: the generated strict interface implemented with
// the package's blocks, signing with a key held behind a crypto.Signer.
func Example_customServer() {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := token.NewCryptoSigner("kms-key-1", kmsKey{priv})
	if err != nil {
		log.Fatal(err)
	}
	h, err := newTokenServer(signer, []server.Credential{{Token: "an-api-token"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()

	// The typed client gets a token the KMS key signed.
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("an-api-token"), streamtoken.WithBaseURL(ts.URL+server.BasePath))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a", streamtoken.TokenRequest{})
	if err != nil {
		log.Fatal(err)
	}
	v, err := token.NewVerifier([]*token.Key{signer.PublicKey()})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := v.Verify(tok.Value)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by", claims.KeyID)

	// The account's JWK set verifies it, as "streamtoken verify --account"
	// does; a direct upload's URL takes its upload.
	setURL, err := streamtoken.KeySetURL(ts.URL+server.BasePath, "023e105f4ecef8ad9ca31a8372d0c353")
	if err != nil {
		log.Fatal(err)
	}
	ks, err := streamtoken.NewKeySet(setURL)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := ks.Verify(context.Background(), tok.Value); err != nil {
		log.Fatal(err)
	}
	fmt.Println("the JWK set verifies it")
	up, err := c.CreateDirectUpload(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", streamtoken.DirectUpload{MaxDuration: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.Post(up.URL, "multipart/form-data; boundary=b", strings.NewReader("--b\r\n\r\nvideo\r\n--b--\r\n"))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("upload:", resp.StatusCode)

	// What the bare stubs would let through, or answer in plain text.
	url := ts.URL + server.BasePath + "/accounts/023e105f4ecef8ad9ca31a8372d0c353/stream/ea95132c15732412d22c1476fa83f27a/token"
	for _, r := range []struct{ name, method, auth, body string }{
		{"misspelt field", http.MethodPost, "Bearer an-api-token", `{"accesRules":[{"type":"any","action":"block"}]}`},
		{"no credential", http.MethodPost, "", `{}`},
		{"wrong method", http.MethodGet, "Bearer an-api-token", ``},
	} {
		req, _ := http.NewRequest(r.method, url, strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/json")
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %d %s", r.name, resp.StatusCode, body) // the body ends in a newline
	}
	// Output:
	// signed by kms-key-1
	// the JWK set verifies it
	// upload: 200
	// misspelt field: 400 {"errors":[{"code":1002,"message":"accesRules: unknown field","source":{"pointer":"/accesRules"}}],"messages":[],"result":null,"success":false}
	// no credential: 401 {"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null,"success":false}
	// wrong method: 405 {"errors":[{"code":7001,"message":"Method GET not allowed: this route takes POST"}],"messages":[],"result":null,"success":false}
}
