package ops

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
)

// currentReport returns the aggregator's current report — the one its Run
// collected last — or, before any collection (Run not running), a fresh
// Report. fresh says which.
func (s *server) currentReport() (rep *health.Report, fresh bool) {
	rep = s.opts.Health.Current()
	if rep.Timestamp.IsZero() {
		return s.opts.Health.Report(), true
	}
	return rep, false
}

// reportBody returns the JSON of the current report, gzipped when gz is
// set and the report is a collected one (gzipped reports true then). The
// body of a collected report is encoded once and reused until the next
// collection, and gzipped at most once: reports are immutable, so the
// pointer identifies the content.
func (s *server) reportBody(gz bool) (body []byte, gzipped bool, err error) {
	rep, fresh := s.currentReport()
	if fresh {
		body, err = api.Marshal(rep)
		return body, false, err
	}
	c := s.healthCache.Load()
	if c == nil || c.rep != rep {
		body, err := api.Marshal(rep)
		if err != nil {
			return nil, false, err
		}
		c = &cachedReport{rep: rep, body: body}
		s.healthCache.Store(c)
	}
	if !gz {
		return c.body, false, nil
	}
	c.gzOnce.Do(func() { c.gz = gzipBytes(c.body) })
	if c.gz == nil {
		return c.body, false, nil
	}
	return c.gz, true, nil
}

// gzipBytes returns b gzipped, or nil if that does not make it smaller.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil || buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}

// acceptsGzip reports whether the request's Accept-Encoding admits gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && name != "*" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

func (s *server) getHealth(w http.ResponseWriter, r *http.Request) {
	if s.opts.Health == nil {
		writeError(w, r, s.log, errUnavailable("health aggregator"))
		return
	}
	body, gzipped, err := s.reportBody(acceptsGzip(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Vary", "Accept-Encoding")
	if gzipped {
		w.Header().Set("Content-Encoding", "gzip")
	}
	writeBody(w, http.StatusOK, body)
}

func (s *server) getHealthHistory(w http.ResponseWriter, r *http.Request) {
	if s.opts.Health == nil {
		writeError(w, r, s.log, errUnavailable("health aggregator"))
		return
	}
	var window time.Duration
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			writeError(w, r, s.log, antifragile.Invalid("window", v, "must be a duration such as \"5m\""))
			return
		}
		if d < 0 {
			writeError(w, r, s.log, antifragile.Invalid("window", v, "must not be negative"))
			return
		}
		window = d
	}
	snaps := s.opts.Health.History(window)
	if snaps == nil {
		snaps = []health.Snapshot{}
	}
	writeJSON(w, http.StatusOK, api.HealthHistory{
		Window:             api.Duration(window),
		Count:              len(snaps),
		Snapshots:          snaps,
		ConstitutionalHash: s.hash(),
	})
}

func (s *server) getBreakers(w http.ResponseWriter, r *http.Request) {
	snaps := s.reg.Snapshot()
	writeJSON(w, http.StatusOK, api.Breakers{Count: len(snaps), Breakers: snaps, ConstitutionalHash: s.hash()})
}

func (s *server) getRecovery(w http.ResponseWriter, r *http.Request) {
	if s.opts.Recovery == nil {
		writeError(w, r, s.log, errUnavailable("recovery orchestrator"))
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Recovery.Status())
}

func (s *server) getRecoveryHistory(w http.ResponseWriter, r *http.Request) {
	o := s.opts.Recovery
	if o == nil {
		writeError(w, r, s.log, errUnavailable("recovery orchestrator"))
		return
	}
	name := r.PathValue("name")
	writeJSON(w, http.StatusOK, api.RecoveryHistory{Service: name, Learning: o.Learning(name), Outages: o.Outages(name),
		ConstitutionalHash: o.ConstitutionalHash()})
}

func (s *server) getScenarios(w http.ResponseWriter, r *http.Request) {
	e := s.opts.Chaos
	if e == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
		return
	}
	active := e.Active()
	writeJSON(w, http.StatusOK, api.Scenarios{
		Count:              len(active),
		EmergencyStop:      e.Stopped(),
		Scenarios:          active,
		Recent:             e.Recent(),
		ConstitutionalHash: e.ConstitutionalHash(),
	})
}

func (s *server) getScenario(w http.ResponseWriter, r *http.Request) {
	if s.opts.Chaos == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
		return
	}
	name := r.PathValue("name")
	sc, ok := s.opts.Chaos.Lookup(name)
	if !ok {
		writeError(w, r, s.log, errNotFound("chaos: no active scenario named "+quote(name)))
		return
	}
	writeJSON(w, http.StatusOK, sc)
}

func (s *server) getChaosMetrics(w http.ResponseWriter, r *http.Request) {
	if s.opts.Chaos == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Chaos.Metrics())
}

func (s *server) getMetering(w http.ResponseWriter, r *http.Request) {
	if s.opts.Meter == nil {
		writeError(w, r, s.log, errUnavailable("meter"))
		return
	}
	usage := []metering.Usage{}
	if s.usage != nil {
		if u := s.usage.Totals(); u != nil {
			usage = u
		}
	}
	out := api.Metering{Metrics: s.opts.Meter.Metrics(), Usage: usage}
	if sp := s.opts.Spool; sp != nil {
		m := sp.Metrics()
		out.Spool = &m
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getBus(w http.ResponseWriter, r *http.Request) {
	if s.opts.Bus == nil {
		writeError(w, r, s.log, errUnavailable("agent bus"))
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Bus.Metrics())
}

func (s *server) getLivez(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Probe{Status: api.ProbeOK, ConstitutionalHash: s.hash()})
}

func (s *server) getReadyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Health == nil {
		writeError(w, r, s.log, errUnavailable("health aggregator"))
		return
	}
	rep, _ := s.currentReport()
	p := api.Probe{Status: api.ProbeNotReady, Health: rep.Status.String(), ConstitutionalHash: s.hash()}
	status := http.StatusServiceUnavailable
	if int(rep.Status) < len(s.ready) && s.ready[rep.Status] {
		p.Status, status = api.ProbeReady, http.StatusOK
	}
	writeJSON(w, status, p)
}

func (s *server) getMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.metrics.ServeHTTP(w, r)
}

func quote(s string) string { return strconv.Quote(s) }
