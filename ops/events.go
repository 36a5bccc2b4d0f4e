package ops

import (
	"bufio"
	"net/http"
	"strconv"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
)

// getEvents streams Server-Sent Events until the request's context ends:
// a hello event, then breaker, health, recovery and chaos events as they
// happen, and a ": ping" comment every PingInterval. Each event is
//
//	event: <kind>
//	id: <n>
//	data: <compact JSON>
//
// followed by a blank line and a flush. The stream holds one subscription
// per component, closed (and the health callback removed) when it ends; a
// stream that cannot keep up loses events rather than slowing anything
// down.
func (s *server) getEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	// A server-wide WriteTimeout would cut the stream: lift it for this
	// response (ignored where unsupported).
	_ = rc.SetWriteDeadline(time.Time{})

	buf := s.opts.EventBuffer
	breakers := s.reg.Subscribe(buf)
	defer breakers.Close()
	var recoveryC <-chan recovery.Event
	if o := s.opts.Recovery; o != nil {
		sub := o.Subscribe(buf)
		defer sub.Close()
		recoveryC = sub.C
	}
	var chaosC <-chan chaos.Event
	if e := s.opts.Chaos; e != nil {
		sub := e.Subscribe(buf)
		defer sub.Close()
		chaosC = sub.C
	}
	var healthC chan health.Report
	var hello api.Hello
	hello.ConstitutionalHash = s.hash()
	if a := s.opts.Health; a != nil {
		healthC = make(chan health.Report, buf)
		remove := a.OnChange(func(rep health.Report) {
			select {
			case healthC <- rep:
			default: // the stream is behind: drop rather than block the aggregator
			}
		})
		defer remove()
		hello.Health, _ = s.currentReport()
	}

	h := w.Header()
	h.Set("Content-Type", api.ContentTypeEventStream)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	bw := bufio.NewWriterSize(w, 4096)
	var id uint64
	send := func(kind string, v any) bool {
		data, err := api.Marshal(v)
		if err != nil {
			if s.log != nil {
				s.log.Error("ops: encoding an event", "kind", kind, "err", err)
			}
			return true
		}
		id++
		bw.WriteString("event: ")
		bw.WriteString(kind)
		bw.WriteString("\nid: ")
		bw.WriteString(strconv.FormatUint(id, 10))
		bw.WriteString("\ndata: ")
		bw.Write(data)
		bw.WriteString("\n\n")
		return flush(bw, rc)
	}
	if s.log != nil {
		s.log.Debug("ops: event stream opened", "remote", r.RemoteAddr)
		defer s.log.Debug("ops: event stream closed", "remote", r.RemoteAddr)
	}
	bw.WriteString("retry: 3000\n")
	if !send(api.KindHello, hello) {
		return
	}
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	for {
		ok := true
		select {
		case <-ctx.Done():
			return
		case ev := <-breakers.C:
			ok = send(api.KindBreaker, ev)
		case ev := <-recoveryC:
			ok = send(api.KindRecovery, ev)
		case ev := <-chaosC:
			ok = send(api.KindChaos, ev)
		case rep := <-healthC:
			ok = send(api.KindHealth, rep)
		case <-ping.C:
			bw.WriteString(": ping\n\n")
			ok = flush(bw, rc)
		}
		if !ok {
			return
		}
	}
}

func flush(bw *bufio.Writer, rc *http.ResponseController) bool {
	if err := bw.Flush(); err != nil {
		return false
	}
	return rc.Flush() == nil
}
