package ops

import (
	"bufio"
	"net/http"
	"strconv"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
)

// getEvents streams Server-Sent Events until the request's context ends:
// a hello event, then breaker, health, anomaly, recovery and chaos events as they
// happen, and a ": ping" comment every PingInterval. Each event is
//
//	event: <kind>
//	id: <n>
//	data: <compact JSON>
//
// followed by a blank line and a flush. The stream holds one subscription
// per component, closed when it ends; a stream that cannot keep up loses
// events rather than slowing anything down.
func (s *server) getEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// A server-wide WriteTimeout would cut the stream: lift it for this
	// response (ignored where unsupported).
	_ = rc.SetWriteDeadline(time.Time{})
	subs := s.subscribe()
	defer subs.close()

	hello := api.Hello{ConstitutionalHash: s.hash(), Cluster: s.opts.Cluster != nil, ClusterUsage: s.opts.ClusterUsage != nil}
	if s.opts.Health != nil {
		hello.Health, _ = s.currentReport()
	}
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeEventStream)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if s.log != nil {
		s.log.Debug("ops: event stream opened", "remote", r.RemoteAddr)
		defer s.log.Debug("ops: event stream closed", "remote", r.RemoteAddr)
	}
	st := &stream{s: s, bw: bufio.NewWriterSize(w, 4096), rc: rc}
	st.bw.WriteString("retry: 3000\n")
	if st.send(api.KindHello, hello) {
		st.loop(r, subs)
	}
}

// subscriptions are one event stream's subscriptions; a nil channel stands
// for a component the handler was not given.
type subscriptions struct {
	breakers *breaker.Subscription
	health   *health.Subscription
	anomaly  *health.AnomalySubscription
	recovery *recovery.Subscription
	chaos    *chaos.Subscription
}

// subscribe subscribes to every component the handler has.
func (s *server) subscribe() *subscriptions {
	buf := s.opts.EventBuffer
	subs := &subscriptions{breakers: s.reg.Subscribe(buf)}
	if a := s.opts.Health; a != nil {
		subs.health = a.Subscribe(buf)
		subs.anomaly = a.SubscribeAnomalies(buf)
	}
	if o := s.opts.Recovery; o != nil {
		subs.recovery = o.Subscribe(buf)
	}
	if e := s.opts.Chaos; e != nil {
		subs.chaos = e.Subscribe(buf)
	}
	return subs
}

func (subs *subscriptions) close() {
	subs.breakers.Close()
	if subs.health != nil {
		subs.health.Close()
		subs.anomaly.Close()
	}
	if subs.recovery != nil {
		subs.recovery.Close()
	}
	if subs.chaos != nil {
		subs.chaos.Close()
	}
}

// stream writes the events of one response.
type stream struct {
	s  *server
	bw *bufio.Writer
	rc *http.ResponseController
	id uint64
}

// loop forwards events and pings until the request ends or a write fails.
func (st *stream) loop(r *http.Request, subs *subscriptions) {
	var healthC <-chan *health.Report
	var anomalyC <-chan health.AnomalyEvent
	var recoveryC <-chan recovery.Event
	var chaosC <-chan chaos.Event
	if subs.health != nil {
		healthC, anomalyC = subs.health.C, subs.anomaly.C
	}
	if subs.recovery != nil {
		recoveryC = subs.recovery.C
	}
	if subs.chaos != nil {
		chaosC = subs.chaos.C
	}
	ping := time.NewTicker(st.s.opts.PingInterval)
	defer ping.Stop()
	for ok := true; ok; {
		select {
		case <-r.Context().Done():
			return
		case ev := <-subs.breakers.C:
			ok = st.send(api.KindBreaker, ev)
		case rep := <-healthC:
			ok = st.send(api.KindHealth, rep)
		case ev := <-anomalyC:
			ok = st.send(api.KindAnomaly, ev)
		case ev := <-recoveryC:
			ok = st.send(api.KindRecovery, ev)
		case ev := <-chaosC:
			ok = st.send(api.KindChaos, ev)
		case <-ping.C:
			st.bw.WriteString(": ping\n\n")
			ok = st.flush()
		}
	}
}

// send writes one event and flushes it; false means the client is gone.
func (st *stream) send(kind string, v any) bool {
	data, err := api.Marshal(v)
	if err != nil {
		if st.s.log != nil {
			st.s.log.Error("ops: encoding an event", "kind", kind, "err", err)
		}
		return true
	}
	st.id++
	st.bw.WriteString("event: ")
	st.bw.WriteString(kind)
	st.bw.WriteString("\nid: ")
	st.bw.WriteString(strconv.FormatUint(st.id, 10))
	st.bw.WriteString("\ndata: ")
	st.bw.Write(data)
	st.bw.WriteString("\n\n")
	return st.flush()
}

func (st *stream) flush() bool {
	if err := st.bw.Flush(); err != nil {
		return false
	}
	return st.rc.Flush() == nil
}
