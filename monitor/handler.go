package monitor

import (
	"encoding/json"
	"net/http"
	"time"
)

// Handler returns an http.Handler that serves the current Snapshot as JSON
// (see Snapshot.MarshalJSON), for a debug endpoint such as
// /debug/weft/runtime. It panics if m was not made by Start.
func (m *Monitor) Handler() http.Handler {
	if m.done == nil {
		panic("monitor: Monitor used without Start")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(m.Snapshot())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(b, '\n'))
	})
}

// jsonQuantiles is Quantiles in seconds.
type jsonQuantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func toJSON(q Quantiles) jsonQuantiles {
	return jsonQuantiles{q.P50.Seconds(), q.P99.Seconds(), q.Max.Seconds()}
}

// MarshalJSON encodes the snapshot with durations in seconds:
//
//	{"time":"2026-01-02T15:04:05.999Z","window_seconds":10.0,
//	 "sched_latency_seconds":{"p50":0.000012,"p99":0.0021,"max":0.0042},
//	 "timer_lag_seconds":{...},"gc_pause_seconds":{...},
//	 "goroutines":42,"runnable_goroutines":3,"mutex_wait_seconds_per_second":0.01,
//	 "cpus":8,"lag_seconds":0.0019,"overloaded":false}
func (s Snapshot) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Time       time.Time     `json:"time"`
		Window     float64       `json:"window_seconds"`
		Sched      jsonQuantiles `json:"sched_latency_seconds"`
		TimerLag   jsonQuantiles `json:"timer_lag_seconds"`
		GCPause    jsonQuantiles `json:"gc_pause_seconds"`
		Goroutines int           `json:"goroutines"`
		Runnable   int           `json:"runnable_goroutines"`
		MutexWait  float64       `json:"mutex_wait_seconds_per_second"`
		CPUs       int           `json:"cpus"`
		Lag        float64       `json:"lag_seconds"`
		Overloaded bool          `json:"overloaded"`
	}{
		s.Time, s.Window.Seconds(), toJSON(s.SchedLatency), toJSON(s.TimerLag), toJSON(s.GCPause),
		s.Goroutines, s.Runnable, s.MutexWait, s.CPUs, s.Lag.Seconds(), s.Overloaded,
	})
}
