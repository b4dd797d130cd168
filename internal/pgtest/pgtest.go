// Package pgtest gives tests a Postgres database: the server DOTS_TEST_POSTGRES names (a
// connection URL, as .ci/run sets it), or else a throwaway server started from the local
// binaries (initdb and pg_ctl; as the postgres user when the tests run as root), stopped when the
// tests end. Without either, a test skips, unless DOTS_TEST_POSTGRES_REQUIRED=1 (CI): then it
// fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the server: a connection URL such as postgres://postgres@127.0.0.1:5432/postgres.
const Env = "DOTS_TEST_POSTGRES"

// RequiredEnv, set to 1, makes a test fail rather than skip when no server can be had.
const RequiredEnv = "DOTS_TEST_POSTGRES_REQUIRED"

var (
	once    sync.Once
	baseURL string
	whyNot  error
	stop    func()
)

// Main runs the tests of a package and stops the throwaway server, if one was started: call it
// from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// Database returns the URL of a new, empty database on the server, dropped when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	once.Do(func() { baseURL, whyNot = server() })
	if whyNot != nil {
		if os.Getenv(RequiredEnv) == "1" {
			t.Fatalf("Postgres is required (%s=1) and none can be had: %v", RequiredEnv, whyNot)
		}
		t.Skipf("no Postgres: %v (set %s to a server's URL, or install Postgres 15+: its initdb and pg_ctl)", whyNot, Env)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		t.Fatalf("connecting to %s: %v", Env, err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "dots_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating a test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), baseURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// server returns the URL of DOTS_TEST_POSTGRES, or starts a throwaway server.
func server() (string, error) {
	if u := os.Getenv(Env); u != "" {
		return u, nil
	}
	bin, err := binaries()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "dots-pgtest-")
	if err != nil {
		return "", err
	}
	// Postgres refuses to run as root: then it runs as the postgres user, in a directory it owns.
	var as []string
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root, and there is no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
		as = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	port, err := freePort()
	if err != nil {
		return "", err
	}
	run := func(args ...string) error {
		args = append(append([]string(nil), as...), args...)
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"); err != nil {
		return "", err
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200", port, dir)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		return "", err
	}
	stop = func() {
		_ = run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), nil
}

// binaries finds the directory of initdb and pg_ctl: on the PATH, or where Debian puts them.
func binaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("%s is unset and no initdb or pg_ctl is installed", Env)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
