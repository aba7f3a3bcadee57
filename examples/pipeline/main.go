// Command pipeline runs a three-stage pipeline, read → transform → write,
// against a local server: it streams records from GET /records, parses them
// on four workers, and posts them in batches of ten to POST /sink.
//
// The stages are sequences chained with group.MapSeq2: each pulls from the
// one before it only while it has room (twice its workers), so a slow stage
// holds the others back instead of letting work pile up, and every stage
// keeps the records in order. The first error anywhere ends every stage: the
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

// pipeline runs the stages once, counting into p. Each stage is a
// sequence that ranges over the one before it, so they chain with no code
// between them: an error, or a break in the loop that writes, stops every
// stage before it, after its workers are done.
func pipeline(ctx context.Context, client *http.Client, url string, bad int, p *pass) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/records?bad="+strconv.Itoa(bad), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	lines := scan(resp.Body, &p.read)                                    // stage 1: read, in order
	parsed := group.MapSeq2(ctx, lines, parse, group.Limit(workers))     // stage 2: parse on several workers
	upper := group.MapSeq2(ctx, parsed, transform, group.Limit(workers)) // stage 3: transform, in order

	// Write in batches; the last, short batch only once the input has ended
	// cleanly. The first error, from any stage, ends the loop.
	var buf []record
	for rec, err := range upper {
		if err != nil {
			return err
		}
		p.transformed++
		if buf = append(buf, rec); len(buf) == batch {
			if err := post(ctx, client, url, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return post(ctx, client, url, buf)
}

// scan returns the lines of r as a sequence, counting them in *n, and then
// the error that ended the reading, if any.
func scan(r io.Reader, n *int) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			*n++
			if !yield(sc.Text(), nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield("", err)
		}
	}
}

// parse turns "ID,value" into a record.
func parse(_ context.Context, line string) (record, error) {
	id, value, ok := strings.Cut(line, ",")
	n, err := strconv.Atoi(id)
	if !ok || err != nil {
		return record{}, fmt.Errorf("%w: %q", errMalformed, line)
	}
	return record{ID: n, Value: value}, nil
}

// transform upper-cases a record's value.
func transform(_ context.Context, rec record) (record, error) {
	time.Sleep(100 * time.Microsecond) // transforming takes a while
	rec.Value = strings.ToUpper(rec.Value)
	return rec, nil
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
