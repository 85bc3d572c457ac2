package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/server"
)

// requireDocker, when set (.ci/run sets it), makes TestImage fail rather
// than skip without a Docker engine.
const requireDocker = "STREAMTOKEN_REQUIRE_DOCKER"

// maxImageBytes is the image's bound (scripts/image fails past it too).
const maxImageBytes = 50_000_000

const (
	exampleAccount = "023e105f4ecef8ad9ca31a8372d0c353"
	exampleVideo   = "ea95132c15732412d22c1476fa83f27a"
)

// docker runs the docker command line and returns its standard output;
// env is added to the command's environment (so that a secret passed by
// -e NAME never appears on a command line).
func docker(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// The image as make image builds it, run as a team would: serve on the
// host's network (loopback alone), its API token from the environment, a
// token asked from outside the container and verified against the
// account's JWK set, then stopped by SIGTERM.
func TestImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if _, err := docker(ctx, nil, "info", "--format", "{{.ServerVersion}}"); err != nil {
		if os.Getenv(requireDocker) != "" {
			t.Fatalf("%s is set and no Docker engine answers: %v", requireDocker, err)
		}
		t.Skipf("no Docker engine answers (%v): the image is neither built nor run; .ci/run starts one (dockerd --bridge=none --iptables=false)", err)
	}
	suffix := randomHex(t, 6)
	tag := "streamtoken/streamtoken:test-" + suffix
	name := "streamtoken-test-" + suffix

	start := time.Now()
	build := exec.CommandContext(ctx, "../scripts/image", "--tag", tag, "linux/amd64")
	out, err := build.CombinedOutput()
	t.Logf("scripts/image --tag %s linux/amd64 (%v):\n%s", tag, time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("scripts/image: %v", err)
	}
	t.Cleanup(func() { _, _ = docker(context.Background(), nil, "rmi", "--force", tag) })

	var inspect []struct {
		Size   int64
		Config struct {
			User        string
			Labels      map[string]string
			Entrypoint  []string
			Cmd         []string
			Healthcheck struct{ Test []string }
		}
	}
	raw, err := docker(ctx, nil, "image", "inspect", tag)
	if err != nil || json.Unmarshal([]byte(raw), &inspect) != nil || len(inspect) != 1 {
		t.Fatalf("docker image inspect: %v", err)
	}
	img := inspect[0]
	t.Logf("image: %d bytes, user %s, entrypoint %q, cmd %q, healthcheck %q", img.Size, img.Config.User, img.Config.Entrypoint, img.Config.Cmd, img.Config.Healthcheck.Test)
	if img.Size > maxImageBytes {
		t.Errorf("the image is %d bytes, over %d", img.Size, maxImageBytes)
	}
	if img.Config.User != "65532:65532" {
		t.Errorf("the image's user is %q, want 65532:65532", img.Config.User)
	}
	if !strings.Contains(strings.Join(img.Config.Healthcheck.Test, " "), "streamtoken healthcheck") {
		t.Errorf("HEALTHCHECK %q: want the command's healthcheck", img.Config.Healthcheck.Test)
	}
	for _, label := range []string{"source", "revision", "version", "licenses", "created"} {
		if img.Config.Labels["org.opencontainers.image."+label] == "" {
			t.Errorf("no label org.opencontainers.image.%s", label)
		}
	}
	pkgs := img.Config.Labels["io.github.streamtoken.debian-packages"]
	for _, p := range []string{"libc6=", "libssl3=", "ca-certificates="} {
		if !strings.Contains(pkgs, p) {
			t.Errorf("the packages label %q has no %s", pkgs, p)
		}
	}
	t.Logf("labels: %v", img.Config.Labels)

	version, err := docker(ctx, nil, "run", "--rm", "--network", "none", "--read-only", tag, "version")
	t.Logf("docker run --rm %s version:\n%s", tag, version)
	if err != nil || !strings.Contains(version, "openssl (OpenSSL 3") {
		t.Errorf("version in the image: %v; want it to sign with OpenSSL 3", err)
	}

	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	apiToken := randomHex(t, 20)
	if _, err := docker(ctx, []string{"STREAMTOKEN_API_TOKENS=" + apiToken},
		"run", "--detach", "--name", name, "--network", "host", "--read-only",
		"--health-interval", "1s", "--health-start-period", "0s",
		"--env", "STREAMTOKEN_ADDR="+addr, "--env", "STREAMTOKEN_API_TOKENS", tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = docker(context.Background(), nil, "rm", "--force", name) })
	logs := func() string {
		out, _ := exec.Command("docker", "logs", name).CombinedOutput()
		return strings.ReplaceAll(string(out), apiToken, "[api token]")
	}

	base := "http://" + addr
	if err := waitHealthy(ctx, base+server.HealthPath); err != nil {
		t.Fatalf("serve in the container: %v; its log:\n%s", err, logs())
	}
	client, err := streamtoken.NewClient(streamtoken.WithBaseURL(base+server.BasePath), streamtoken.WithAPIToken(apiToken))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := client.CreateToken(ctx, exampleAccount, exampleVideo, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatalf("a token from the container: %v", err)
	}
	jwks, err := streamtoken.KeySetURL(base+server.BasePath, exampleAccount)
	if err != nil {
		t.Fatal(err)
	}
	set, err := streamtoken.NewKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := set.Verify(ctx, tok.Value)
	if err != nil || claims.VideoID != exampleVideo {
		t.Fatalf("the container's token against %s: %v, %v", jwks, claims, err)
	}
	t.Logf("a token for %s from %s verified against %s (kid %s)", exampleVideo, base, jwks, claims.KeyID)

	var health string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if health, _ = docker(ctx, nil, "inspect", "--format", "{{.State.Health.Status}}", name); health == "healthy" {
			break
		}
	}
	if health != "healthy" {
		t.Errorf("the HEALTHCHECK says %q, want healthy", health)
	}
	t.Logf("HEALTHCHECK: %s", health)

	// The process: the image's user, and a read-only root filesystem.
	pid, err := docker(ctx, nil, "inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("the container's process (pid %s): %v", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
			if f[1] != "65532" || f[2] != "65532" {
				t.Errorf("the process's %s, want 65532", line)
			}
			t.Logf("process %s", strings.Join(f, " "))
		}
	}
	mounts, err := os.ReadFile("/proc/" + pid + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	rootRO := false
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			rootRO = strings.HasPrefix(f[5], "ro,") || f[5] == "ro"
			t.Logf("root filesystem mounted %s", f[5])
		}
	}
	if !rootRO {
		t.Error("the root filesystem is not mounted read-only")
	}

	// SIGTERM: serve drains and exits 0 within its shutdown bound.
	stopped := time.Now()
	if _, err := docker(ctx, nil, "kill", "--signal", "TERM", name); err != nil {
		t.Fatal(err)
	}
	waitCtx, cancelWait := context.WithTimeout(ctx, server.DefaultShutdownTimeout+10*time.Second)
	defer cancelWait()
	code, err := docker(waitCtx, nil, "wait", name)
	took := time.Since(stopped)
	t.Logf("SIGTERM: exit %s after %v", code, took.Round(time.Millisecond))
	if err != nil || code != "0" {
		t.Errorf("after SIGTERM: exit %q, %v; want 0; its log:\n%s", code, err, logs())
	}
	if took > server.DefaultShutdownTimeout {
		t.Errorf("SIGTERM took %v to stop it, over the shutdown bound %v", took, server.DefaultShutdownTimeout)
	}
	l := logs()
	if !strings.Contains(l, "letting requests in flight finish") {
		t.Errorf("the log says no drain:\n%s", l)
	}
	if strings.Contains(l, apiToken) {
		t.Error("the container's log holds the API token")
	}
}

// waitHealthy asks url until it answers 200, for 30 s at most.
func waitHealthy(ctx context.Context, url string) error {
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
			continue
		}
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("%s answered %s", url, res.Status)
	}
	return fmt.Errorf("not healthy within 30 s: %v", last)
}

// freePort is a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
