// Command pipeline runs a three-stage pipeline, read → transform → write,
// against a local server: it streams records from GET /records, parses them
// on four workers, and posts them in batches of ten to POST /sink.
//
// The stages are tasks of one group.Group joined by small buffered channels,
// so a slow stage holds the others back instead of letting work pile up, and
// the transform stage uses group.MapSeq to work in parallel while keeping the
// records in order. The first error anywhere cancels every stage: the
// download stops, the workers stop, and no partial batch is written.
//
// It runs the pipeline twice: once over clean records, once over records of
// which one is malformed.
//
//	go run ./examples/pipeline
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftgo/weft/group"
)

const (
	records = 100 // records the server streams
	batch   = 10  // records per POST to the sink
	workers = 4   // transform workers
	buffer  = 8   // capacity of the channels between the stages
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

// record is a parsed record.
type record struct {
	ID    int
	Value string
}

var errMalformed = errors.New("malformed record")

// pass is what one run of the pipeline did.
type pass struct {
	read, transformed int   // records through the first two stages
	written           []int // record IDs the sink stored, in order
	err               error // what the pipeline returned
}

func run(ctx context.Context, w io.Writer) ([2]pass, error) {
	var passes [2]pass
	sink := new(sink)
	srv := httptest.NewServer(routes(sink))
	defer srv.Close()
	client := srv.Client()

	for i, bad := range []int{-1, 57} {
		sink.reset()
		p := &passes[i]
		if bad < 0 {
			fmt.Fprintf(w, "pass %d: %d clean records\n", i+1, records)
		} else {
			fmt.Fprintf(w, "pass %d: %d records, record %d malformed\n", i+1, records, bad)
		}
		p.err = pipeline(ctx, client, srv.URL, bad, p)
		p.written = sink.ids()
		fmt.Fprintf(w, "  read %d, transformed %d, written %d; error: %v\n", p.read, p.transformed, len(p.written), p.err)
	}
	if passes[0].err != nil {
		return passes, passes[0].err
	}
	if !errors.Is(passes[1].err, errMalformed) {
		return passes, fmt.Errorf("the malformed record was not reported: %v", passes[1].err)
	}
	return passes, nil
}

// pipeline runs the three stages once, counting into p.
func pipeline(ctx context.Context, client *http.Client, url string, bad int, p *pass) error {
	g := group.New(ctx)
	lines := make(chan string, buffer)
	parsed := make(chan record, buffer)

	// Stage 1: read the records as they arrive. A stage closes its output
	// only when it succeeded, so the next stage cannot mistake a failure for
	// the end of the input.
	g.Go(func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/records?bad="+strconv.Itoa(bad), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
				p.read++
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
		close(lines)
		return nil
	})

	// Stage 2: parse on several workers, in order.
	g.Go(func(ctx context.Context) error {
		for rec, err := range group.MapSeq(ctx, receive(ctx, lines), parse, group.Limit(workers)) {
			if err != nil {
				return err
			}
			select {
			case parsed <- rec:
				p.transformed++
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		close(parsed)
		return nil
	})

	// Stage 3: write in batches; the last, short batch only once the input
	// has ended cleanly.
	g.Go(func(ctx context.Context) error {
		var buf []record
		for {
			select {
			case rec, ok := <-parsed:
				if !ok {
					return post(ctx, client, url, buf)
				}
				if buf = append(buf, rec); len(buf) == batch {
					if err := post(ctx, client, url, buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	})

	return g.Wait()
}

// receive returns the values received from ch until it is closed or ctx is
// done, as a sequence.
func receive[T any](ctx context.Context, ch <-chan T) iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			select {
			case v, ok := <-ch:
				if !ok || !yield(v) {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}
}

// parse turns "ID,value" into a record with the value upper-cased.
func parse(_ context.Context, line string) (record, error) {
	id, value, ok := strings.Cut(line, ",")
	n, err := strconv.Atoi(id)
	if !ok || err != nil {
		return record{}, fmt.Errorf("%w: %q", errMalformed, line)
	}
	time.Sleep(100 * time.Microsecond) // parsing takes a while
	return record{ID: n, Value: strings.ToUpper(value)}, nil
}

// post writes a batch to the sink.
func post(ctx context.Context, client *http.Client, url string, recs []record) error {
	if len(recs) == 0 {
		return nil
	}
	var body strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&body, "%d,%s\n", r.ID, r.Value)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/sink", strings.NewReader(body.String()))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("sink: %s", resp.Status)
	}
	return nil
}

// sink stores the record IDs posted to it.
type sink struct {
	mu     sync.Mutex
	stored []int
}

func (s *sink) reset() { s.mu.Lock(); s.stored = nil; s.mu.Unlock() }

func (s *sink) ids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.stored...)
}

// routes serves GET /records?bad=N, which streams the records "ID,value" one
// per line (record N malformed), and POST /sink, which stores a batch.
func routes(s *sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /records", func(w http.ResponseWriter, r *http.Request) {
		bad, _ := strconv.Atoi(r.URL.Query().Get("bad"))
		flusher, _ := w.(http.Flusher)
		for i := range records {
			if r.Context().Err() != nil {
				return // the client has gone
			}
			if i == bad {
				fmt.Fprintln(w, "garbage")
			} else {
				fmt.Fprintf(w, "%d,value %d\n", i, i)
			}
			if i%batch == batch-1 && flusher != nil {
				flusher.Flush()
			}
		}
	})
	mux.HandleFunc("POST /sink", func(w http.ResponseWriter, r *http.Request) {
		var ids []int
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			id, _, _ := strings.Cut(sc.Text(), ",")
			n, err := strconv.Atoi(id)
			if err != nil {
				http.Error(w, "bad line", http.StatusBadRequest)
				return
			}
			ids = append(ids, n)
		}
		if sc.Err() != nil {
			return // the client has gone: store nothing
		}
		s.mu.Lock()
		s.stored = append(s.stored, ids...)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
