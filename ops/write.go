package ops

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/recovery"
)

// requireToken admits a request that carries the configured bearer token,
// and writes an audit line for every write it admits or refuses. It decides
// before anything reads the body, and a refused request's connection is
// closed after the answer instead of being drained, so a client that never
// sends the body it announced cannot hold the connection. The comparison
// takes the same time whatever the tokens: both are hashed to 32 bytes
// first, so not even the length leaks.
func (s *server) requireToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tp := s.tokens.load()
		if err := checkToken(r, tp.write, &tp.writeSum); err != nil {
			s.refuse(w, r, err)
			return
		}
		sw := &statusRecorder{ResponseWriter: w}
		next(sw, r)
		s.audit(r, "done", nil, "status", sw.code())
	}
}

// requireReadToken admits a read when no read token is configured, or when
// the request carries it (or the write token). The tokens are those in
// force when the request arrives (see Tokens).
func (s *server) requireReadToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tp := s.tokens.load()
		if tp.read == "" {
			next(w, r)
			return
		}
		err := checkToken(r, tp.read, &tp.readSum)
		if err != nil && tp.write != "" && checkToken(r, tp.write, &tp.writeSum) == nil {
			err = nil
		}
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		next(w, r)
	}
}

// refuse answers a request it will not serve with err's envelope, writes its
// audit line and drops the connection after the answer: the body is never
// read, and the server does not wait for it to arrive (a read deadline in
// the past ends the drain it would otherwise attempt).
func (s *server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	s.audit(r, "refused", err)
	writeError(w, r, s.log, err)
}

// checkToken returns nil when r carries "Authorization: Bearer want" (sum is
// want's SHA-256), and the error to answer otherwise.
func checkToken(r *http.Request, want string, sum *[sha256.Size]byte) error {
	if want == "" {
		return errWritesDisabled
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errUnauthorized
	}
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], sum[:]) != 1 {
		return errForbidden
	}
	return nil
}

// audit writes the audit line of a write or of a refused request: the
// route, the remote address and the outcome — never a token.
func (s *server) audit(r *http.Request, outcome string, err error, attrs ...any) {
	if s.log == nil {
		return
	}
	args := append([]any{"method", r.Method, "path", r.URL.Path, "route", r.Pattern, "remote", r.RemoteAddr, "outcome", outcome}, attrs...)
	if err != nil {
		status, _ := statusOf(err)
		args = append(args, "status", status, "reason", err.Error())
	}
	s.log.Info("ops audit", args...)
}

// statusRecorder remembers the status a handler wrote, for the audit line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (s *server) breakerAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		b, ok := s.reg.Get(name)
		if !ok {
			writeError(w, r, s.log, errNotFound(breaker.ErrNotFound.Error()+": "+quote(name)))
			return
		}
		changed := true
		switch action {
		case api.ActionReset:
			b.Reset()
		case api.ActionForceOpen:
			changed = b.ForceOpen()
		case api.ActionRelease:
			changed = b.Release()
		case api.ActionRemove:
			changed = s.reg.Remove(name)
		}
		writeJSON(w, http.StatusOK, api.BreakerAction{Breaker: name, Action: action, Changed: changed, State: b.State()})
	}
}

func (s *server) postRecovery(w http.ResponseWriter, r *http.Request) {
	o := s.opts.Recovery
	if o == nil {
		writeError(w, r, s.log, errUnavailable("recovery orchestrator"))
		return
	}
	name := r.PathValue("name")
	var req api.ScheduleRequest
	if err := s.decodeBody(w, r, &req, true); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	strategy, priority, policy, err := req.Args(o.Policy(name).Strategy)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := o.Schedule(name, strategy, priority, policy); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	resp := api.RecoveryAction{Service: name, Action: api.ActionSchedule}
	if t, ok := o.Task(name); ok {
		resp.Task = &t
	}
	writeJSON(w, http.StatusAccepted, resp)
}

func (s *server) recoveryAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o := s.opts.Recovery
		if o == nil {
			writeError(w, r, s.log, errUnavailable("recovery orchestrator"))
			return
		}
		name := r.PathValue("name")
		var err error
		switch action {
		case api.ActionResume:
			err = o.Resume(name)
		case api.ActionResolve:
			err = o.Resolve(name)
		case api.ActionCancel:
			if !o.Cancel(name) {
				err = &recovery.NotFoundError{Service: name}
			}
		}
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		resp := api.RecoveryAction{Service: name, Action: action}
		if t, ok := o.Task(name); ok {
			resp.Task = &t
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// postScenario injects the scenario of the body and answers with the
// active copy and its warnings (api.Injected): each target the engine does
// not know (chaos.Engine.Known), a duration capped. With ?strict=1 (or the
// engine's strict_targets) an unknown target is refused instead, a 422
// naming it.
func (s *server) postScenario(w http.ResponseWriter, r *http.Request) {
	e := s.opts.Chaos
	if e == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
		return
	}
	strict, err := strictParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sc, err := chaos.ParseScenario(body)
	if err != nil {
		writeError(w, r, s.log, scenarioError(err))
		return
	}
	unknown := e.CheckTargets(sc)
	if unknown != nil && strict {
		writeError(w, r, s.log, unknown)
		return
	}
	active, err := e.Inject(sc)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, api.Injected{Scenario: active, Warnings: injectWarnings(active, unknown)})
}

// strictParam reads the strict query parameter of POST /chaos/scenarios:
// absent is false, otherwise a boolean as strconv.ParseBool reads it
// ("1", "true", "0", "false", …).
func strictParam(r *http.Request) (bool, error) {
	q := r.URL.Query()
	if !q.Has("strict") {
		return false, nil
	}
	v, err := strconv.ParseBool(q.Get("strict"))
	if err != nil {
		return false, antifragile.Invalid("strict", q.Get("strict"), "must be a boolean such as 1 or 0")
	}
	return v, nil
}

// injectWarnings returns the warnings of an injection: the unknown targets
// (unknown is the error of CheckTargets, or nil) and a capped duration.
func injectWarnings(active chaos.Scenario, unknown error) []string {
	var out []string
	var ue *chaos.UnknownTargetError
	if errors.As(unknown, &ue) {
		out = ue.Warnings()
	}
	if note := active.CapNote(); note != "" {
		out = append(out, "duration "+note+" (the engine's max_duration)")
	}
	return out
}

func (s *server) deleteScenario(w http.ResponseWriter, r *http.Request) {
	if s.opts.Chaos == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
		return
	}
	name := r.PathValue("name")
	if !s.opts.Chaos.Deactivate(name) {
		writeError(w, r, s.log, errNotFound("chaos: no active scenario named "+quote(name)))
		return
	}
	writeJSON(w, http.StatusOK, api.ScenarioAction{Scenario: name, Deactivated: true})
}

func (s *server) chaosStop(w http.ResponseWriter, r *http.Request) {
	if s.opts.Chaos == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
		return
	}
	s.opts.Chaos.EmergencyStop()
	writeJSON(w, http.StatusOK, s.opts.Chaos.Metrics())
}

func (s *server) chaosReset(w http.ResponseWriter, r *http.Request) {
	if s.opts.Chaos == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
		return
	}
	s.opts.Chaos.Reset()
	writeJSON(w, http.StatusOK, s.opts.Chaos.Metrics())
}

// postReload serves POST /config/reload: the Reloader's result, or its
// error's envelope (400 naming every problem of an invalid configuration,
// which changed nothing). The request has no body.
func (s *server) postReload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reloader == nil {
		writeError(w, r, s.log, errUnavailable("config reload"))
		return
	}
	res, err := s.opts.Reloader.Reload(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// postTuning serves POST /tune/apply: the ledger entry of the applied
// change (api.TuningChange body), or the 400 naming every problem of a
// refused one, which changed nothing.
func (s *server) postTuning(w http.ResponseWriter, r *http.Request) {
	if s.opts.Tuner == nil {
		writeError(w, r, s.log, errUnavailable("tuning"))
		return
	}
	var c api.TuningChange
	if err := s.decodeBody(w, r, &c, false); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	e, err := s.opts.Tuner.ApplyTuning(r.Context(), c)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// trialer returns the Tuner as a Trialer, or writes the 503.
func (s *server) trialer(w http.ResponseWriter, r *http.Request) (Trialer, bool) {
	t, ok := s.opts.Tuner.(Trialer)
	if !ok {
		writeError(w, r, s.log, errUnavailable("tuning trials"))
	}
	return t, ok
}

// postTrial serves POST /tune/trial: the trial with the candidate in force
// (api.TrialRequest body), 400 naming every problem of a refused one (which
// changed nothing), 409 while a trial of other services runs.
func (s *server) postTrial(w http.ResponseWriter, r *http.Request) {
	t, ok := s.trialer(w, r)
	if !ok {
		return
	}
	var req api.TrialRequest
	if err := s.decodeBody(w, r, &req, false); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	tr, err := t.StartTrial(r.Context(), req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

// getTrial serves GET /tune/trial; without a Trialer no trial runs.
func (s *server) getTrial(w http.ResponseWriter, r *http.Request) {
	tr := api.Trial{ConstitutionalHash: s.hash()}
	if t, ok := s.opts.Tuner.(Trialer); ok {
		tr = t.Trial()
	}
	writeJSON(w, http.StatusOK, tr)
}

// deleteTrial serves DELETE /tune/trial: the ended trial, its settings
// restored, or 404 when none runs.
func (s *server) deleteTrial(w http.ResponseWriter, r *http.Request) {
	t, ok := s.trialer(w, r)
	if !ok {
		return
	}
	tr, err := t.EndTrial(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

// getLedger serves GET /tune/ledger; without a Tuner the ledger is empty.
func (s *server) getLedger(w http.ResponseWriter, r *http.Request) {
	l := api.Ledger{Entries: []api.LedgerEntry{}, ConstitutionalHash: s.hash()}
	if s.opts.Tuner != nil {
		if e := s.opts.Tuner.Ledger(); e != nil {
			l.Entries = e
		}
	}
	writeJSON(w, http.StatusOK, l)
}
