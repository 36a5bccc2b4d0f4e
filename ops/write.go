package ops

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/recovery"
)

// requireToken admits a request that carries the configured bearer token.
// The comparison takes the same time whatever the tokens: both are hashed
// to 32 bytes first, so not even the length leaks.
func (s *server) requireToken(next http.HandlerFunc) http.HandlerFunc {
	want := sha256.Sum256([]byte(s.opts.Token))
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token == "" {
			writeError(w, r, s.log, errWritesDisabled)
			return
		}
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			writeError(w, r, s.log, errUnauthorized)
			return
		}
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			writeError(w, r, s.log, errForbidden)
			return
		}
		next(w, r)
	}
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

func (s *server) postScenario(w http.ResponseWriter, r *http.Request) {
	e := s.opts.Chaos
	if e == nil {
		writeError(w, r, s.log, errUnavailable("chaos engine"))
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
	active, err := e.Inject(sc)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, active)
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
