// Package pgtest runs a throwaway PostgreSQL server for the tests: a
// cluster made by initdb in a temporary directory and started by pg_ctl,
// as an unprivileged user, listening on a Unix socket in that directory
// alone (no port to collide with). Each test gets a database of its own.
//
// The server binaries are looked for in $STREAMTOKEN_PG_BIN, then
// /usr/lib/postgresql/*/bin (Debian's postgresql package), then $PATH.
// Without them the tests that need PostgreSQL skip, saying why, unless
// $STREAMTOKEN_REQUIRE_POSTGRES is set (as CI sets it): then they fail.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway server.
type Cluster struct {
	bin, dir string
	cred     *syscall.Credential // who runs it; nil: this process's user
	dbs      atomic.Int64
}

var (
	once    sync.Once
	shared  *Cluster
	errOnce error
)

// Main runs the tests of a package that uses [New], and stops the server
// after them: call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
		os.RemoveAll(shared.dir)
	}
	return code
}

// New returns the package's server, starting it on first use (a few
// seconds), or skips t (or fails it, when PostgreSQL is required) when
// the binaries are missing.
func New(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { shared, errOnce = start() })
	if errOnce != nil {
		var missing *missingError
		if errors.As(errOnce, &missing) && os.Getenv("STREAMTOKEN_REQUIRE_POSTGRES") == "" {
			t.Skip(errOnce.Error())
		}
		t.Fatal(errOnce)
	}
	return shared
}

type missingError struct{ why string }

func (e *missingError) Error() string {
	return "PostgreSQL server binaries not found (" + e.why + "): apt-get install postgresql, or set STREAMTOKEN_PG_BIN"
}

// findBin finds the directory of initdb and pg_ctl.
func findBin() (string, error) {
	if dir := os.Getenv("STREAMTOKEN_PG_BIN"); dir != "" {
		return dir, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int { return version(b) - version(a) }) // the newest first
	if len(found) > 0 {
		return filepath.Dir(found[0]), nil
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", &missingError{"no initdb in /usr/lib/postgresql/*/bin or $PATH"}
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// start makes and starts a cluster.
func start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if err := c.runAs(); err != nil {
		return nil, err
	}
	c.reapOrphans()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	c.dir = dir
	// Whose it is: a cluster whose test process was killed (a timeout, ^C)
	// is stopped by the next start of any.
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, out)
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// The temporary directories of clusters, and the file in each that names
// the test process it belongs to.
const (
	dirPrefix = "streamtoken-pg-"
	ownerFile = "owner.pid"
)

// runAs sets who runs the server: this process's user, or, as root (whom
// initdb refuses), postgres or else nobody.
func (c *Cluster) runAs() error {
	if os.Geteuid() != 0 {
		return nil
	}
	name := "postgres"
	if _, err := user.Lookup(name); err != nil {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("pgtest: running as root, and no user postgres or nobody to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return nil
}

// reapOrphans stops and removes the clusters of test processes that are
// gone: a test binary killed before its TestMain could stop its own.
func (c *Cluster) reapOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not one of ours, or still being made
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // its process is alive (or not ours to judge)
		}
		orphan := &Cluster{bin: c.bin, dir: dir, cred: c.cred}
		_, _ = orphan.run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", orphan.data())
		os.RemoveAll(dir)
	}
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

// Start starts the server (again, after [Cluster.Stop]), and waits until
// it takes connections.
func (c *Cluster) Start() error {
	opts := "-c listen_addresses='' -c unix_socket_directories=" + c.dir +
		" -c fsync=off -c full_page_writes=off -c max_connections=200"
	if out, err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("pgtest: pg_ctl start: %w: %s %s", err, out, log)
	}
	return nil
}

// Stop stops the server at once (its connections are cut), as an outage
// would; [Cluster.Start] brings it back.
func (c *Cluster) Stop() error {
	if out, err := c.run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", c.data()); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w: %s", err, out)
	}
	return nil
}

// ConnString is the key=value connection string of a database.
func (c *Cluster) ConnString(db string) string {
	return fmt.Sprintf("host=%s port=5432 user=postgres dbname=%s sslmode=disable", c.dir, db)
}

// URL is the same as a libpq URL.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=5432&sslmode=disable", db, c.dir)
}

// Database creates a new, empty database and returns its name.
func (c *Cluster) Database(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return name
}

// Connect opens a connection for a test's own queries, closed with it.
func Connect(t testing.TB, conn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
