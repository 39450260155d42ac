package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// Temporal is the handler the Temporal SDK reports to (client.Options'
// MetricsHandler): its counters, gauges and timers (workflow and activity
// task latencies, poll counts, sticky cache, request failures…) become
// temporal_* series of this process. A nil *Metrics gives the SDK's no-op
// handler.
func (m *Metrics) Temporal() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return sdkHandler{c: m.sdk}
}

// sdkCollector keeps the SDK's series. The SDK tags one metric name with
// different tag sets depending on where it reports from, which fixed
// Prometheus label sets cannot hold: each family is exposed with the union
// of the tags seen for its name, a missing one as "".
type sdkCollector struct {
	mu       sync.Mutex
	families map[string]*sdkFamily
}

type sdkFamily struct {
	kind   prometheus.ValueType // CounterValue, GaugeValue; timers are histograms
	timer  bool
	keys   map[string]bool
	series map[string]*sdkSeries // by canonical tag string
}

type sdkSeries struct {
	tags    map[string]string
	value   float64
	count   uint64
	sum     float64
	buckets []uint64 // cumulative at collection, per timerBuckets
}

// timerBuckets are the SDK timers' histogram bounds, in seconds.
var timerBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// maxSDKSeries bounds the series one family holds: tags come from the SDK
// (task queues, workflow and activity types, operations), a bounded set,
// but a bound keeps a surprise from growing without end.
const maxSDKSeries = 2000

func newSDKCollector() *sdkCollector { return &sdkCollector{families: map[string]*sdkFamily{}} }

// Describe sends nothing: the families are known only as the SDK reports.
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, f := range c.families {
		keys := slices.Sorted(maps.Keys(f.keys))
		help := "Temporal SDK metric " + name + "."
		desc := prometheus.NewDesc(promName(name, f.timer), help, promLabels(keys), nil)
		for _, s := range f.series {
			values := make([]string, len(keys))
			for i, k := range keys {
				values[i] = s.tags[k]
			}
			if f.timer {
				b := make(map[float64]uint64, len(timerBuckets))
				for i, ub := range timerBuckets {
					b[ub] = s.buckets[i]
				}
				if m, err := prometheus.NewConstHistogram(desc, s.count, s.sum, b, values...); err == nil {
					ch <- m
				}
				continue
			}
			// A series the client refuses (tag values that are not UTF-8)
			// is left out: a collector's panic would end the process.
			if m, err := prometheus.NewConstMetric(desc, f.kind, s.value, values...); err == nil {
				ch <- m
			}
		}
	}
}

// promName turns an SDK metric name (temporal_workflow_task_execution_latency)
// into a Prometheus one: a timer is in seconds.
func promName(name string, timer bool) string {
	n := sanitize(name)
	if !strings.HasPrefix(n, "temporal_") {
		n = "temporal_" + n
	}
	if timer && !strings.HasSuffix(n, "_seconds") {
		n += "_seconds"
	}
	return n
}

func promLabels(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = sanitize(k)
	}
	return out
}

// sanitize keeps [a-zA-Z0-9_], the characters Prometheus names allow.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// series finds or adds the series of name with tags; nil once the family
// is full.
func (c *sdkCollector) series(name string, kind prometheus.ValueType, timer bool, tags map[string]string) *sdkSeries {
	f := c.families[name]
	if f == nil {
		f = &sdkFamily{kind: kind, timer: timer, keys: map[string]bool{}, series: map[string]*sdkSeries{}}
		c.families[name] = f
	}
	keys := slices.Sorted(maps.Keys(tags))
	var id strings.Builder
	for _, k := range keys {
		id.WriteString(k + "\x00" + tags[k] + "\x00")
	}
	s := f.series[id.String()]
	if s == nil {
		if len(f.series) >= maxSDKSeries {
			return nil
		}
		s = &sdkSeries{tags: tags}
		if timer {
			s.buckets = make([]uint64, len(timerBuckets))
		}
		f.series[id.String()] = s
		for _, k := range keys {
			f.keys[k] = true
		}
	}
	return s
}

// sdkHandler is one tagged view of the collector.
type sdkHandler struct {
	c    *sdkCollector
	tags map[string]string
}

func (h sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return sdkHandler{c: h.c, tags: merged}
}

func (h sdkHandler) Counter(name string) client.MetricsCounter {
	return counterFunc(func(d int64) {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		if s := h.c.series(name, prometheus.CounterValue, false, h.tags); s != nil {
			s.value += float64(d)
		}
	})
}

func (h sdkHandler) Gauge(name string) client.MetricsGauge {
	return gaugeFunc(func(v float64) {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		if s := h.c.series(name, prometheus.GaugeValue, false, h.tags); s != nil {
			s.value = v
		}
	})
}

func (h sdkHandler) Timer(name string) client.MetricsTimer {
	return timerFunc(func(d time.Duration) {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		s := h.c.series(name, prometheus.UntypedValue, true, h.tags)
		if s == nil {
			return
		}
		sec := d.Seconds()
		s.count++
		s.sum += sec
		for i, ub := range timerBuckets {
			if sec <= ub {
				s.buckets[i]++
			}
		}
	})
}

type (
	counterFunc func(int64)
	gaugeFunc   func(float64)
	timerFunc   func(time.Duration)
)

func (f counterFunc) Inc(d int64)          { f(d) }
func (f gaugeFunc) Update(v float64)       { f(v) }
func (f timerFunc) Record(d time.Duration) { f(d) }
