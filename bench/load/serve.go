package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/tune"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// The two servers under load each run in a process of their own, as a
// deployed server would, started by re-running this program with
// serveArg. They read the key from a file and the API token from the
// environment (never argv, which ps shows), listen on a loopback port,
// print its address, and stop when their standard input closes: so they
// never outlive the load run, even when it is killed.
const (
	serveArg      = "-serve"
	apiTokenEnv   = "STREAMTOKEN_LOAD_API_TOKEN"
	cpuProfileEnv = "STREAMTOKEN_LOAD_CPUPROFILE" // where the streamtoken server writes its CPU profile
	upstreamEnv   = "STREAMTOKEN_LOAD_UPSTREAM"   // the gateway's upstream, a base URL
)

// tokenRoute is the route both servers answer.
var tokenRoute = gen.CreateStreamTokenRoute.Method + " " + server.BasePath + gen.CreateStreamTokenRoute.Path

// child is a server process under load.
type child struct {
	name string
	url  string
	cmd  *exec.Cmd
	stop io.Closer // its standard input
}

// startChild starts the server impl ("streamtoken", "bare", "upstream" or
// "gateway") with the key in keyFile, env added to its environment.
func startChild(impl, keyFile, apiToken string, workers int, noCache bool, cpuProfile string, env ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, serveArg, impl, keyFile, strconv.Itoa(workers), strconv.FormatBool(noCache))
	cmd.Env = append(append(os.Environ(), apiTokenEnv+"="+apiToken), env...)
	if impl == "streamtoken" && cpuProfile != "" {
		cmd.Env = append(cmd.Env, cpuProfileEnv+"="+cpuProfile)
	}
	return startCmd(impl, cmd)
}

// nodeSigner is the bare Node.js signer, run as a script of its own.
//
//go:embed node-signer.js
var nodeSigner []byte

// startNode starts the bare Node.js signer (one worker per core) with the
// key in keyFile (PEM), on a free loopback port.
func startNode(node, dir, keyFile, kid string) (*child, error) {
	script := filepath.Join(dir, "node-signer.js")
	if err := os.WriteFile(script, nodeSigner, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port, for node to take
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "NODE_SIGNER_KEY="+keyFile, "NODE_SIGNER_KID="+kid, "NODE_SIGNER_PORT="+strconv.Itoa(port))
	return startCmd("node", cmd)
}

// startCmd starts a server process and reads its address, the first line
// of its standard output.
func startCmd(name string, cmd *exec.Cmd) (*child, error) {
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s server: no address: %w", name, err)
	}
	return &child{name: name, url: "http://" + strings.TrimSpace(addr), cmd: cmd, stop: stdin}, nil
}

// Close stops the process and waits for it.
func (c *child) Close() error {
	_ = c.stop.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		return <-done
	}
}

// serveChild is the server process: "streamtoken" is streamtoken's token
// server with its defaults (auth, request checks, the signing queue and
// the token cache); "bare" is a net/http handler that only signs, with
// the same key and the same RSA (OpenSSL's where it loads): the baseline.
func serveChild(impl, keyFile, workers, noCache string) error {
	if path := os.Getenv(cpuProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	nworkers, err := strconv.Atoi(workers)
	if err != nil {
		return err
	}
	disableCache, err := strconv.ParseBool(noCache)
	if err != nil {
		return err
	}
	key, err := store.LoadKey(keyFile, "")
	if err != nil {
		return err
	}
	if impl == "streamtoken" || impl == "gateway" { // as streamtoken serve does
		use, _, _ := token.ResolveCrypto(token.CryptoAuto)
		tune.Runtime(os.Getenv, use)
	}
	signer, err := token.NewSigner(key)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // stop when the parent closes our stdin, or dies
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Println(ln.Addr())

	switch impl {
	case "upstream": // a stand-in for Cloudflare's API, in front of which the gateway runs
		srv, err := server.New(server.Config{
			Credentials:         []server.Credential{{Token: os.Getenv(apiTokenEnv)}},
			MaxConnectionsPerIP: -1,
		})
		if err != nil {
			return err
		}
		return srv.Serve(ctx, ln)
	case "gateway": // streamtoken's gateway, in front of the upstream
		g, err := gateway.New(gateway.Config{
			Upstream: os.Getenv(upstreamEnv),
			// The run is longer than the default TTL (5 min): its one
			// request of the upstream per TTL would show in the count the
			// run asserts unchanged.
			AuthTTL: time.Hour,
			Server: server.Config{
				SigningWorkers:      nworkers,
				DisableTokenCache:   disableCache,
				MaxConnectionsPerIP: -1,
			},
		})
		if err != nil {
			return err
		}
		return g.Serve(ctx, ln)
	case "streamtoken":
		srv, err := server.New(server.Config{
			Credentials:       []server.Credential{{Token: os.Getenv(apiTokenEnv)}},
			Signer:            signer,
			SigningWorkers:    nworkers,
			DisableTokenCache: disableCache,
			// Every client of the load comes from 127.0.0.1, as behind a
			// load balancer: no cap per address.
			MaxConnectionsPerIP: -1,
		})
		if err != nil {
			return err
		}
		return srv.Serve(ctx, ln)
	case "bare":
		mux := http.NewServeMux()
		mux.HandleFunc(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			tok, _, err := signer.Sign(token.Request{VideoID: r.PathValue(gen.ParamIdentifier)})
			if err != nil {
				http.Error(w, "signing failed", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": map[string]string{"token": tok}})
		})
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			<-ctx.Done()
			_ = hs.Close()
		}()
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return fmt.Errorf("no server %q", impl)
}
