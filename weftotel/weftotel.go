package weftotel

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
)

// ErrDuplicate is returned (wrapped, naming the kind and the name) when a
// primitive of the same kind and name is already registered on the same
// Meter and has not been unregistered.
var ErrDuplicate = errors.New("weftotel: already registered")

// NameKey is the attribute that carries the name given at registration on
// every measurement.
const NameKey = attribute.Key("weft.name")

// Attribute keys that split some instruments into several series; the table
// in the package documentation lists their values per instrument.
const (
	// OutcomeKey says how a call, event or task ended.
	OutcomeKey = attribute.Key("weft.outcome")
	// StateKey names a breaker state: closed, open or half_open.
	StateKey = attribute.Key("weft.state")
	// ReasonKey says why a key was evicted or a resource destroyed.
	ReasonKey = attribute.Key("weft.reason")
)

// Option configures a registration.
type Option func(*config)

type config struct {
	buckets       []float64
	callDurations bool
}

// DurationBuckets sets the explicit bucket boundaries, in seconds, of the
// duration histograms a registration creates. It panics if the bounds are not
// strictly increasing. The default is DefaultBuckets.
func DurationBuckets(bounds ...float64) Option {
	for i := 1; i < len(bounds); i++ {
		if !(bounds[i] > bounds[i-1]) {
			panic(fmt.Sprintf("weftotel: DurationBuckets(%v): bounds must increase", bounds))
		}
	}
	b := append([]float64(nil), bounds...)
	return func(c *config) { c.buckets = b }
}

// CallDurations makes a Breaker registration also record the histogram
// weft.breaker.call.duration: the time each call the breaker admits runs,
// fed by the breaker's Observe hook. It is off by default because timing a
// call reads the clock twice and takes the breaker's general path instead
// of the closed state's inlined one, several times the cost of a closed
// breaker's call (see BenchmarkFastPath, BreakerTimed rows). Other
// registrations ignore it.
func CallDurations() Option {
	return func(c *config) { c.callDurations = true }
}

// DefaultBuckets are the bucket boundaries, in seconds, of every duration
// histogram unless DurationBuckets says otherwise: from 100µs to 10s, about
// three per decade.
var DefaultBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// registry holds the (meter, kind, name) triples registered and not yet
// unregistered, so that a second registration is an error and not a second
// series that silently shadows the first.
var registry struct {
	mu   sync.Mutex
	live map[regKey]struct{}
}

type regKey struct {
	meter      any
	kind, name string
}

// key returns the registry key of a registration. Meters that cannot be map
// keys (an implementation with an uncomparable dynamic type) share one
// namespace.
func key(m metric.Meter, kind, name string) regKey {
	var mk any = m
	if !reflect.TypeOf(m).Comparable() {
		mk = nil
	}
	return regKey{meter: mk, kind: kind, name: name}
}

// registration is what every registering function returns: the meter's
// callback registration, and the release of the name.
type registration struct {
	embedded.Registration
	reg  metric.Registration
	key  regKey
	undo []func() // removes the hooks the registration added
	once sync.Once
	err  error
}

// Unregister removes the callback from the meter and releases the name, so
// that it may be registered again. It is idempotent.
func (r *registration) Unregister() error {
	r.once.Do(func() {
		for _, f := range r.undo {
			f()
		}
		r.err = r.reg.Unregister()
		registry.mu.Lock()
		delete(registry.live, r.key)
		registry.mu.Unlock()
	})
	return r.err
}

// builder creates the instruments of one registration and collects the
// first error.
type builder struct {
	m     metric.Meter
	cfg   config
	name  string
	attrs attribute.Set
	// opt is the observe option carrying weft.name alone; made once, so that
	// callbacks allocate nothing for it.
	opt  metric.MeasurementOption
	obs  []metric.Observable
	err  error
	kind string
}

func newBuilder(m metric.Meter, kind, name string, opts []Option) *builder {
	if m == nil {
		panic("weftotel: nil meter")
	}
	cfg := config{buckets: DefaultBuckets}
	for _, o := range opts {
		o(&cfg)
	}
	set := attribute.NewSet(NameKey.String(name))
	return &builder{m: m, cfg: cfg, kind: kind, name: name, attrs: set, opt: metric.WithAttributeSet(set)}
}

// with returns the option for this registration's name plus kv.
func (b *builder) with(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(append([]attribute.KeyValue{NameKey.String(b.name)}, kv...)...))
}

func (b *builder) keep(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

// kept keeps the error of an instrument's creation and adds the instrument
// to those b's callback observes: the one step every kind below shares.
func kept[T metric.Observable](b *builder, c T, err error) T {
	b.keep(err)
	b.obs = append(b.obs, c)
	return c
}

// counter is a monotonic count read from a cumulative Stats field.
func (b *builder) counter(name, unit, desc string) metric.Int64ObservableCounter {
	c, err := b.m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return kept(b, c, err)
}

// fcounter is a monotonic float count, such as total seconds.
func (b *builder) fcounter(name, unit, desc string) metric.Float64ObservableCounter {
	c, err := b.m.Float64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return kept(b, c, err)
}

// updown is an additive quantity that goes up and down (running, queued).
func (b *builder) updown(name, unit, desc string) metric.Int64ObservableUpDownCounter {
	c, err := b.m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return kept(b, c, err)
}

// gauge is a value that is not additive across instances (a limit, a
// ratio, a latency percentile).
func (b *builder) gauge(name, unit, desc string) metric.Int64ObservableGauge {
	c, err := b.m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return kept(b, c, err)
}

// fgauge is a float gauge.
func (b *builder) fgauge(name, unit, desc string) metric.Float64ObservableGauge {
	c, err := b.m.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return kept(b, c, err)
}

// histogram is a duration histogram in seconds, fed by a hook.
func (b *builder) histogram(name, desc string) metric.Float64Histogram {
	h, err := b.m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(b.cfg.buckets...))
	b.keep(err)
	return h
}

// register claims the name and registers cb for the instruments built so
// far. On error nothing stays registered.
func (b *builder) register(cb metric.Callback) (*registration, error) {
	if b.err != nil {
		return nil, fmt.Errorf("weftotel: %s %q: %w", b.kind, b.name, b.err)
	}
	k := key(b.m, b.kind, b.name)
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.live[k]; dup {
		return nil, fmt.Errorf("weftotel: %s %q: %w", b.kind, b.name, ErrDuplicate)
	}
	reg, err := b.m.RegisterCallback(cb, b.obs...)
	if err != nil {
		return nil, fmt.Errorf("weftotel: %s %q: %w", b.kind, b.name, err)
	}
	if registry.live == nil {
		registry.live = make(map[regKey]struct{})
	}
	registry.live[k] = struct{}{}
	return &registration{reg: reg, key: k}, nil
}
