package redisrate_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// redisURL locates the Redis server shared by the tests: WEFT_REDIS_URL
// (set by make test-redis), or one TestMain starts for the run.
var redisURL string

func TestMain(m *testing.M) {
	redisURL = os.Getenv("WEFT_REDIS_URL")
	if redisURL != "" {
		goleak.VerifyTestMain(m)
		return
	}
	s, err := startServer("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	redisURL = s.url
	// os/exec keeps a goroutine for the server's process until it is
	// stopped, which Cleanup does after the check: ignore what runs now.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(), goleak.Cleanup(func(code int) {
		s.close()
		os.Exit(code)
	}))
}

// runID and keyCount make newKey's keys unique across runs and calls.
var (
	runID    = time.Now().UnixNano()
	keyCount atomic.Int64
)

// newKey returns a Redis key, named after tb, that no other test or run has
// used, so that state left by earlier runs on the same server cannot matter.
func newKey(tb testing.TB) string {
	return fmt.Sprintf("%s#%d.%d", tb.Name(), runID, keyCount.Add(1))
}

// newClient returns a client of the server at url, closed when t ends.
func newClient(t testing.TB, url string) *goredis.Client {
	t.Helper()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true
	c := goredis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrips counts the commands a client sends, as a go-redis hook.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// server is a throwaway redis-server on a unix socket in a temporary
// directory, with persistence off.
type server struct {
	url, dir string
	cmd      *exec.Cmd
	cancel   context.CancelFunc
}

// errNoRedis explains how to get the redis-server the tests need.
var errNoRedis = errors.New("limiter/redisrate tests need redis-server in PATH: install it " +
	"(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), " +
	"or point WEFT_REDIS_URL at a disposable server, or run make test-redis as root")

// startServer starts a redis-server in dir, or in a new temporary directory
// if dir is empty, and returns once it accepts connections.
func startServer(dir string) (*server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	created := dir == ""
	if created {
		if dir, err = os.MkdirTemp("", "weft-redis-"); err != nil {
			return nil, err
		}
	}
	sock := filepath.Join(dir, "redis.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, bin, "--port", "0", "--unixsocket", sock,
		"--dir", dir, "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	s := &server{url: "unix://" + sock, dir: dir, cmd: cmd, cancel: cancel}
	var log []string
	for sc := bufio.NewScanner(out); sc.Scan(); {
		log = append(log, sc.Text())
		if strings.Contains(strings.ToLower(sc.Text()), "ready to accept connections") {
			return s, nil
		}
	}
	if s.kill(); created {
		_ = os.RemoveAll(dir)
	}
	return nil, fmt.Errorf("redis-server did not start:\n%s", strings.Join(log, "\n"))
}

// kill stops the server at once, as a crash would.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cancel()
}

// close kills the server and removes its directory.
func (s *server) close() {
	s.kill()
	_ = os.RemoveAll(s.dir)
}

// pause stops the server process until resume: it keeps its connections
// but answers nothing, as an overloaded server would.
func (s *server) pause()  { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }
func (s *server) resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }

// ownServer starts a server that only t uses, closed when t ends.
func ownServer(t *testing.T) *server {
	t.Helper()
	s, err := startServer("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}
