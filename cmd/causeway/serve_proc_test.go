package main

// Real processes for the multi-process and crash tests: the test binary
// re-executes itself with helperEnv set, and TestMain then runs the
// causeway command line (main) instead of the tests.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/causeway-dev/causeway/postgres"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// helperEnv makes the test binary run `causeway` with its arguments.
const helperEnv = "CAUSEWAY_TEST_HELPER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proc is one causeway child process.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
	err  error // set once done is drained
	over bool
}

// startProc runs `causeway args...` as a child process. It is killed when
// the test ends if still running; its output is logged if the test failed.
func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CAUSEWAY_") { // no stray flag values
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, helperEnv+"=1")
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{t: t, name: name, cmd: cmd, logs: logs, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- %s (pid %d) output:\n%s", name, cmd.Process.Pid, tail(logs.String(), 12000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// wait waits (bounded) for the process to exit and returns its error.
func (p *proc) wait(timeout time.Duration) error {
	if p.over {
		return p.err
	}
	select {
	case p.err = <-p.done:
		p.over = true
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s did not exit within %v", p.name, timeout)
	}
}

// kill sends SIGKILL (kill -9) and reaps the process.
func (p *proc) kill() {
	if p.over {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	if err := p.wait(30 * time.Second); err != nil && !p.over {
		p.t.Errorf("kill %s: %v", p.name, err)
	}
}

// interrupt stops the process like Ctrl-C and checks it exits cleanly.
func (p *proc) interrupt() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.t.Fatalf("interrupt %s: %v", p.name, err)
	}
	if err := p.wait(time.Minute); err != nil {
		p.t.Errorf("%s after Ctrl-C: %v", p.name, err)
	}
}

// exited reports whether the process has exited (without waiting).
func (p *proc) exited() bool {
	if p.over {
		return true
	}
	select {
	case p.err = <-p.done:
		p.over = true
		return true
	default:
		return false
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHTTPReady waits until the process answers /readyz with 200.
func (p *proc) waitHTTPReady(addr string) {
	p.t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if p.exited() {
			p.t.Fatalf("%s exited early: %v", p.name, p.err)
		}
		if httpReady(addr) {
			return
		}
	}
	p.t.Fatalf("%s: %s/readyz not ready within a minute", p.name, addr)
}

// waitRuntime waits for a child `causeway up` to write its runtime file
// (after it listens) and to be ready, and returns the file's content.
func (p *proc) waitRuntime(dir string) Runtime {
	p.t.Helper()
	path := filepath.Join(dir, RuntimeFile)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if p.exited() {
			p.t.Fatalf("%s exited early: %v", p.name, p.err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var rt Runtime
		if json.Unmarshal(b, &rt) != nil || rt.PID != p.cmd.Process.Pid {
			continue // a stale file of the killed run
		}
		p.waitHTTPReady(rt.HTTPAddr)
		return rt
	}
	p.t.Fatalf("%s did not write %s within a minute", p.name, path)
	return Runtime{}
}

// pgDatabase creates a fresh database on the test cluster and returns its
// URL; it is dropped when the test ends.
func pgDatabase(t *testing.T) string {
	t.Helper()
	base := sqltest.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect %s: %v", base, err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("cw_%s_%d", strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name())), time.Now().UnixNano()%1e9)
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("test cluster URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// openPGServices opens the schemas of the services for reading.
func openPGServices(t *testing.T, dbURL string) services {
	t.Helper()
	open := func(name string) *sqldb.DB {
		db, err := postgres.Open(context.Background(), dbURL, SchemaOf(name), postgres.MaxConns(2))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return services{open("order"), open("payment"), open("inventory"), open("shipping")}
}

// httpReady tells whether addr answers /readyz with 200.
func httpReady(addr string) bool {
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}
