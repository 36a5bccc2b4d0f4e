package ops

import (
	"errors"
	"net/http"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/internal/codec"
)

// clusterError maps an error of the cluster member to the API's: a fleet
// run that is not there is 404, a latched stop or a selection of nobody
// 409, invalid input 400 (it passes through), and a control plane that did
// not answer 503 — the instance itself is fine.
func clusterError(err error) error {
	switch {
	case errors.Is(err, cluster.ErrNotFound):
		return errNotFound(err.Error())
	case errors.Is(err, cluster.ErrStopped), errors.Is(err, cluster.ErrNoInstances), errors.Is(err, cluster.ErrConflict):
		return &httpError{status: http.StatusConflict, msg: err.Error()}
	case errors.Is(err, antifragile.ErrInvalid), errors.Is(err, antifragile.ErrHashMismatch):
		return err
	case errors.Is(err, cluster.ErrClosed):
		return &httpError{status: http.StatusServiceUnavailable, msg: err.Error()}
	}
	return &httpError{status: http.StatusServiceUnavailable, msg: "cluster: the control plane did not answer: " + oneLine(err)}
}

// member returns the cluster member, or answers 503 when there is none.
func (s *server) member(w http.ResponseWriter, r *http.Request) *cluster.Member {
	m := s.opts.Cluster
	if m == nil {
		writeError(w, r, s.log, errUnavailable("cluster mode"))
	}
	return m
}

// operator names who pulls a lever or injects through the API, for the
// records the cluster keeps: the body's "by", or the remote address.
func operator(by string, r *http.Request) string {
	if by != "" {
		return by
	}
	return "ops API client " + r.RemoteAddr
}

func (s *server) getCluster(w http.ResponseWriter, r *http.Request) {
	m := s.member(w, r)
	if m == nil {
		return
	}
	v, err := m.View(r.Context())
	if v == nil {
		writeError(w, r, s.log, clusterError(err))
		return
	}
	writeJSON(w, http.StatusOK, v) // a stale view says so (stale, error)
}

func (s *server) getLever(w http.ResponseWriter, r *http.Request) {
	m := s.member(w, r)
	if m == nil {
		return
	}
	l, err := m.Lever(r.Context())
	if err != nil {
		writeError(w, r, s.log, clusterError(err))
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// pullLever serves the cluster's emergency stop and its reset: stop tells
// which.
func (s *server) pullLever(stop bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := s.member(w, r)
		if m == nil {
			return
		}
		var body api.LeverRequest
		if err := s.decodeBody(w, r, &body, true); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		pull := m.Reset
		if stop {
			pull = m.EmergencyStop
		}
		l, err := pull(r.Context(), operator(body.By, r))
		if err != nil {
			writeError(w, r, s.log, clusterError(err))
			return
		}
		writeJSON(w, http.StatusOK, l)
	}
}

func (s *server) postFleet(w http.ResponseWriter, r *http.Request) {
	m := s.member(w, r)
	if m == nil {
		return
	}
	b, err := s.readBody(w, r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var req api.FleetInjection
	if err := codec.Decode(b, &req); err != nil {
		writeError(w, r, s.log, scenarioError(err))
		return
	}
	run, err := m.InjectFleet(r.Context(), req.Scenario, req.Selector, operator(req.By, r))
	if err != nil {
		writeError(w, r, s.log, clusterError(err))
		return
	}
	writeJSON(w, http.StatusCreated, run)
}

func (s *server) getFleet(w http.ResponseWriter, r *http.Request) {
	m := s.member(w, r)
	if m == nil {
		return
	}
	st, err := m.Fleet(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, r, s.log, clusterError(err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *server) deleteFleet(w http.ResponseWriter, r *http.Request) {
	m := s.member(w, r)
	if m == nil {
		return
	}
	n, err := m.StopFleet(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, r, s.log, clusterError(err))
		return
	}
	writeJSON(w, http.StatusOK, api.FleetStopped{Name: r.PathValue("name"), Stopped: n})
}
