// Command connection-pool pools TCP connections to a small line-protocol
// server with pool.Pool, while the server misbehaves:
//
//   - between two bursts of requests, the server drops some connections
//     that sit idle in the pool: the health check (pool.Check, a PING)
//     finds them dead on their next use, and the pool replaces them;
//   - during the second burst, the server hangs up on every 25th request:
//     the request's error wraps pool.ErrBroken, so pool.With destroys the
//     connection and the request is tried again on another one.
//
// All 200 requests succeed, the server never sees more connections than
// MaxSize, and Close, given a deadline, reports the one connection still in
// use instead of hanging; released afterwards, it is closed too.
//
//	go run ./examples/connection-pool
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/pool"
)

const (
	requests  = 200 // concurrent requests, in two bursts of 100
	maxConns  = 8   // the pool's MaxSize
	minIdle   = 2   // the pool's MinIdle
	killIdle  = 3   // connections the server drops between the bursts
	hangEvery = 25  // in the second burst, the server hangs up on every 25th request
	attempts  = 5   // tries per request
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "connection-pool:", err)
		os.Exit(1)
	}
}

// report is what run counted, for the test.
type report struct {
	ok, failed   int64 // requests
	retries      int64 // tries that failed on a broken connection
	killed       int   // connections the server dropped between the bursts
	hungUp       int64 // requests the server hung up on
	peakConns    int64 // most connections the server had open at once
	openAtEnd    int64 // connections the server still had open at the end
	stats        pool.Stats
	closeErr     error // Close with a connection still in use
	finalClose   error // Close after it came back
	destroyCalls int64 // connections the pool closed
}

func run(ctx context.Context, w io.Writer) (report, error) {
	var rep report
	srv, err := listen()
	if err != nil {
		return rep, err
	}
	defer srv.stop()

	var dialer net.Dialer
	var destroyCalls atomic.Int64
	p := pool.New(
		func(ctx context.Context) (*client, error) { return dial(ctx, &dialer, srv.addr()) },
		func(c *client) {
			destroyCalls.Add(1)
			c.conn.Close()
		},
		pool.MaxSize(maxConns),
		pool.MinIdle(minIdle),
		pool.IdleTTL(time.Minute),
		pool.MaxLifetime(10*time.Minute),
		// Ping a connection before reusing it. A real program would keep
		// the default threshold (pool.DefaultCheckAfter); this one checks
		// every reuse, so that the dropped connections are caught however
		// fast the bursts run.
		pool.CheckAfter(0),
		pool.Check(func(ctx context.Context, c *client) error {
			reply, err := c.call(ctx, "PING")
			if err == nil && reply != "PONG" {
				err = fmt.Errorf("ping: got %q", reply)
			}
			return err
		}),
	)

	// request sends one ECHO through the pool, trying again on another
	// connection when the one it got turns out to be broken.
	var retries atomic.Int64
	request := func(ctx context.Context, i int) error {
		want := fmt.Sprintf("hello %d", i)
		var err error
		for range attempts {
			var got string
			err = pool.With(ctx, p, func(ctx context.Context, c *client) error {
				var err error
				got, err = c.call(ctx, "ECHO "+want)
				return err
			})
			if errors.Is(err, pool.ErrBroken) {
				retries.Add(1)
				continue
			}
			if err == nil && got != want {
				err = fmt.Errorf("request %d: got %q, want %q", i, got, want)
			}
			return err
		}
		return err
	}
	var ok, failed atomic.Int64
	burst := func(from, to int) {
		var wg sync.WaitGroup
		for i := from; i < to; i++ {
			wg.Go(func() {
				if err := request(ctx, i); err != nil {
					failed.Add(1)
					fmt.Fprintln(w, "failed:", err)
					return
				}
				ok.Add(1)
			})
		}
		wg.Wait()
	}

	burst(0, requests/2)
	// A busy machine may serve the first burst on fewer connections than
	// the server is about to drop: hold that many at once, so they exist.
	var hold []*pool.Resource[*client]
	for range killIdle {
		r, err := p.Acquire(ctx)
		if err != nil {
			return rep, err
		}
		hold = append(hold, r)
	}
	for _, r := range hold {
		r.Release()
	}
	st := p.Stats()
	fmt.Fprintf(w, "burst 1: %d ok, %d connections made, %d idle\n", ok.Load(), st.Created, st.Idle)

	// The server drops some connections while they sit idle in the pool.
	rep.killed = srv.killIdle(killIdle)
	fmt.Fprintf(w, "server dropped %d idle connections\n", rep.killed)

	srv.hangEvery.Store(hangEvery)
	burst(requests/2, requests)
	st = p.Stats()
	fmt.Fprintf(w, "burst 2: %d ok in all, %d failed; %d dead connections found by the health check, %d broken mid-request and destroyed\n",
		ok.Load(), failed.Load(), st.DestroyedUnhealthy, st.DestroyedBroken)

	// Close with a deadline while one connection is still in use: Close
	// says so instead of hanging, and the connection is closed when it is
	// released.
	held, err := p.Acquire(ctx)
	if err != nil {
		return rep, err
	}
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	rep.closeErr = p.Close(closeCtx)
	fmt.Fprintln(w, "close:", rep.closeErr)
	held.Release()
	rep.finalClose = p.Close(ctx)
	fmt.Fprintln(w, "close after release:", rep.finalClose)

	rep.ok, rep.failed, rep.retries = ok.Load(), failed.Load(), retries.Load()
	rep.hungUp = srv.hungUp.Load()
	rep.peakConns = srv.peak.Load()
	rep.stats = p.Stats()
	rep.destroyCalls = destroyCalls.Load()
	srv.stop()
	rep.openAtEnd = srv.open.Load()
	fmt.Fprintf(w, "%d connections made, %d closed; the server saw at most %d at once\n",
		rep.stats.Created, rep.destroyCalls, rep.peakConns)
	if rep.failed > 0 {
		return rep, fmt.Errorf("%d requests failed", rep.failed)
	}
	return rep, nil
}

// client is a pooled connection.
type client struct {
	conn net.Conn
	r    *bufio.Reader
}

func dial(ctx context.Context, d *net.Dialer, addr string) (*client, error) {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{conn: c, r: bufio.NewReader(c)}, nil
}

// call sends one line and reads the one-line reply. A failure leaves the
// connection in an unknown state, so the error wraps pool.ErrBroken.
func (c *client) call(ctx context.Context, line string) (string, error) {
	deadline, _ := ctx.Deadline() // the zero time clears a previous one
	if err := c.conn.SetDeadline(deadline); err != nil {
		return "", fmt.Errorf("%w: %w", pool.ErrBroken, err)
	}
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		return "", fmt.Errorf("write: %w: %w", pool.ErrBroken, err)
	}
	reply, err := c.r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w: %w", pool.ErrBroken, err)
	}
	return strings.TrimSuffix(reply, "\n"), nil
}

// server speaks the line protocol: "PING" gets "PONG", "ECHO x" gets "x".
type server struct {
	ln        net.Listener
	wg        sync.WaitGroup
	hangEvery atomic.Int64 // when > 0, hang up on every hangEvery-th ECHO
	echoes    atomic.Int64
	hungUp    atomic.Int64
	open      atomic.Int64
	peak      atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open connections; open counts them
	once  sync.Once
}

func listen() (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = struct{}{}
			n := s.open.Add(1)
			s.peak.Store(max(s.peak.Load(), n))
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c) })
		}
	})
	return s, nil
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) serve(c net.Conn) {
	defer func() {
		s.drop(c) // before Close, which lets the client dial again
		c.Close()
	}()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		var reply string
		switch {
		case line == "PING":
			reply = "PONG"
		case strings.HasPrefix(line, "ECHO "):
			if n := s.hangEvery.Load(); n > 0 && s.echoes.Add(1)%n == 0 {
				s.hungUp.Add(1)
				return // hang up mid-request
			}
			reply = strings.TrimPrefix(line, "ECHO ")
		default:
			reply = "ERR unknown command"
		}
		if _, err := io.WriteString(c, reply+"\n"); err != nil {
			return
		}
	}
}

// killIdle closes up to n of the server's open connections, as a server
// restart or a load balancer's idle timeout would, and returns how many it
// closed.
func (s *server) killIdle(n int) int {
	s.mu.Lock()
	var victims []net.Conn
	for c := range s.conns {
		if len(victims) == n {
			break
		}
		victims = append(victims, c)
	}
	s.mu.Unlock()
	for _, c := range victims {
		s.drop(c)
		c.Close() // its serve goroutine sees the error and returns
	}
	return len(victims)
}

// drop forgets c, once, so that open counts connections not yet closed.
func (s *server) drop(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.open.Add(-1)
	}
}

// stop closes the listener and every connection, and waits for the
// server's goroutines.
func (s *server) stop() {
	s.once.Do(func() {
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}
