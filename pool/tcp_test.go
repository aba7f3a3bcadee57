package pool_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/weftgo/weft/pool"
)

// lineServer is a TCP server on 127.0.0.1 that answers each line "x" with
// "x", and hangs up on a client instead of answering every killEvery-th
// line it receives.
type lineServer struct {
	ln        net.Listener
	killEvery int64
	wg        sync.WaitGroup
	lines     atomic.Int64
	open      atomic.Int64 // connections open now
	peak      atomic.Int64
	accepted  atomic.Int64
}

func startLineServer(t *testing.T, killEvery int64) *lineServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &lineServer{ln: ln, killEvery: killEvery}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			n := s.open.Add(1)
			for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

func (s *lineServer) serve(c net.Conn) {
	defer c.Close()
	defer s.open.Add(-1) // before Close, which lets the client dial again
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if s.lines.Add(1)%s.killEvery == 0 {
			return // hang up mid-request
		}
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
	}
}

func (s *lineServer) stop() {
	s.ln.Close()
	s.wg.Wait()
}

// client is a pooled connection to a lineServer.
type client struct {
	c net.Conn
	r *bufio.Reader
}

// call sends line and reads the answer. Any failure leaves the connection
// in an unknown state, so it is marked broken.
func (cl *client) call(ctx context.Context, line string) (string, error) {
	if d, ok := ctx.Deadline(); ok {
		cl.c.SetDeadline(d)
	} else {
		cl.c.SetDeadline(time.Time{})
	}
	if _, err := io.WriteString(cl.c, line+"\n"); err != nil {
		return "", fmt.Errorf("write: %w: %w", pool.ErrBroken, err)
	}
	got, err := cl.r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w: %w", pool.ErrBroken, err)
	}
	return strings.TrimSuffix(got, "\n"), nil
}

// TestTCP pools real TCP connections to a server that hangs up on some of
// them, and checks that every one of 200 concurrent requests succeeds
// when retried, that broken connections are destroyed and replaced,
// that the server never sees more than MaxSize connections, and that Close
// leaves no connection open.
func TestTCP(t *testing.T) {
	srv := startLineServer(t, 7)
	defer srv.stop()
	var dialer net.Dialer
	var closes atomic.Int64
	p := pool.New(
		func(ctx context.Context) (*client, error) {
			c, err := dialer.DialContext(ctx, "tcp", srv.ln.Addr().String())
			if err != nil {
				return nil, err
			}
			return &client{c: c, r: bufio.NewReader(c)}, nil
		},
		func(cl *client) {
			closes.Add(1)
			cl.c.Close()
		},
		pool.MaxSize(4),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const requests = 200
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range requests {
		wg.Go(func() {
			want := fmt.Sprintf("request %d", i)
			var got string
			var err error
			for range 10 { // one line in 7 is hung up on: retry on a fresh connection
				err = pool.With(ctx, p, func(ctx context.Context, cl *client) error {
					got, err = cl.call(ctx, want)
					return err
				})
				if !errors.Is(err, pool.ErrBroken) {
					break
				}
			}
			if err != nil || got != want {
				failed.Add(1)
				t.Errorf("request %d: got %q, %v", i, got, err)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, failed.Load())
	st := p.Stats()
	assert.Positive(t, st.DestroyedBroken, "the server hung up on some")
	assert.LessOrEqual(t, srv.peak.Load(), int64(4), "never more than MaxSize connections")

	require.NoError(t, p.Close(ctx))
	st = p.Stats()
	assert.Equal(t, st.Created, closes.Load(), "every connection closed once")
	assert.Equal(t, st.Created, st.Destroyed)
	// A create that Close cancelled may have connected (and been closed by
	// the dialer) before it saw its context end.
	assert.Eventually(t, func() bool {
		n := srv.accepted.Load()
		return srv.open.Load() == 0 && n >= st.Created && n <= st.Created+st.CreateErrors
	}, 10*time.Second, time.Millisecond, "the server saw every connection the pool made, and all closed")
}
