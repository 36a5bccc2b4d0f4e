package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

// ValidationError reports an invalid field of a request body or query. It is
// the toolkit-wide antifragile.ValidationError; errors.Is(err,
// antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// ContentTypeJSON is the Content-Type of every JSON body the ops API writes.
const ContentTypeJSON = "application/json; charset=utf-8"

// ContentTypeEventStream is the Content-Type of GET /events.
const ContentTypeEventStream = "text/event-stream"

// ErrorEnvelope is the body of every error response of the ops API:
//
//	{"error":"invalid max_retry_attempts -1: must not be negative","field":"policy.max_retry_attempts"}
//
// Error is always set; Field names the offending field of the request (as
// spelled in JSON, with a dotted path for nested fields) when one is to
// blame; Detail adds context, such as every further problem of a body that
// has several.
type ErrorEnvelope struct {
	Error  string `json:"error"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Duration is the toolkit's duration codec: a string such as "250ms" in
// JSON.
type Duration = antifragile.Duration

// Index is the body of GET / when the ops handler serves no dashboard: what
// the server is and which routes it has.
type Index struct {
	Name               string  `json:"name"`
	Version            string  `json:"version"`
	ConstitutionalHash string  `json:"constitutional_hash"`
	Routes             []Route `json:"routes"`
}

// Version is the body of GET /version: what the server runs.
type Version struct {
	Name               string `json:"name"`
	Version            string `json:"version"`
	ConstitutionalHash string `json:"constitutional_hash"`
	Go                 string `json:"go"`
}

// Route is one route of the ops API. Auth is true for the routes that need
// the bearer token.
type Route struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Auth        bool   `json:"auth,omitempty"`
	Description string `json:"description"`
}

// Probe is the body of GET /livez and GET /readyz. Status is "ok" (alive),
// "ready" (200) or "not_ready" (503); Health is the health status that
// readiness was decided on (readyz only).
type Probe struct {
	Status string `json:"status"`
	Health string `json:"health,omitempty"`
	// ConstitutionalHash is the server's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Probe statuses.
const (
	ProbeOK       = "ok"
	ProbeReady    = "ready"
	ProbeNotReady = "not_ready"
)

// HealthHistory is the body of GET /health/history: the snapshots taken
// within Window (0: every kept snapshot), oldest first.
type HealthHistory struct {
	Window             Duration          `json:"window"`
	Count              int               `json:"count"`
	Snapshots          []health.Snapshot `json:"snapshots"`
	ConstitutionalHash string            `json:"constitutional_hash"`
}

// Breakers is the body of GET /breakers: every breaker of the registry with
// its state and counters, sorted by name.
type Breakers struct {
	Count              int                `json:"count"`
	Breakers           []breaker.Snapshot `json:"breakers"`
	ConstitutionalHash string             `json:"constitutional_hash"`
}

// Breaker actions, the last path element of POST /breakers/{name}/{action}.
const (
	ActionReset     = "reset"
	ActionForceOpen = "force-open"
	ActionRelease   = "release"
	// ActionRemove is DELETE /breakers/{name}: the breaker leaves the
	// registry (and the health report, and /metrics).
	ActionRemove = "remove"
)

// BreakerAction is the body answering POST /breakers/{name}/reset,
// /force-open and /release: the breaker's state after the action and
// whether the action changed it (force-open of a breaker already forced
// open, or release of one that is not, change nothing).
type BreakerAction struct {
	Breaker string        `json:"breaker"`
	Action  string        `json:"action"`
	Changed bool          `json:"changed"`
	State   breaker.State `json:"state"`
}

// Recovery actions, answered with a RecoveryAction.
const (
	ActionSchedule = "schedule"
	ActionResume   = "resume"
	ActionResolve  = "resolve"
	ActionCancel   = "cancel"
)

// RecoveryAction is the body answering POST /recovery/{name} (schedule),
// POST /recovery/{name}/resume and /resolve, and DELETE /recovery/{name}
// (cancel). Task is the service's task after the action; it is nil when the
// action removed the task (resolve, cancel).
type RecoveryAction struct {
	Service string         `json:"service"`
	Action  string         `json:"action"`
	Task    *recovery.Task `json:"task,omitempty"`
}

// RecoveryHistory is the body of GET /recovery/{name}/history: the kept
// outages of a service, oldest first (empty when it has none), and what
// the learned strategy makes of them under the service's policy.
type RecoveryHistory struct {
	Service            string            `json:"service"`
	Learning           recovery.Learning `json:"learning"`
	Outages            []recovery.Outage `json:"outages"`
	ConstitutionalHash string            `json:"constitutional_hash"`
}

// Scenarios is the body of GET /chaos/scenarios. Scenarios holds the active
// scenarios in their JSON form (chaos.Scenario.MarshalJSON, which
// chaos.Scenario.UnmarshalJSON reads back), sorted by name. Recent holds
// the scenarios that ended last (at most chaos.RecentEnded), the latest
// first, each with why it ended (expired, deactivated, emergency_stop,
// stop_condition, …).
type Scenarios struct {
	Count              int              `json:"count"`
	EmergencyStop      bool             `json:"emergency_stop"`
	Scenarios          []chaos.Scenario `json:"scenarios"`
	Recent             []chaos.Ended    `json:"recent"`
	ConstitutionalHash string           `json:"constitutional_hash"`
}

// ScenarioAction is the body answering DELETE /chaos/scenarios/{name}.
type ScenarioAction struct {
	Scenario    string `json:"scenario"`
	Deactivated bool   `json:"deactivated"`
}

// Metering is the body of GET /metering: the meter's counters and, when the
// server has a usage source, every tenant's lifetime usage ordered by
// tenant (an empty list otherwise).
type Metering struct {
	Metrics metering.Metrics `json:"metrics"`
	Usage   []metering.Usage `json:"usage"`
	// Spool is the crash-safe spool's backlog, when the meter has one.
	Spool *metering.SpoolMetrics `json:"spool,omitempty"`
}

// Hello is the data of the first event of GET /events: the current health
// report (null when the server has no health aggregator) and the server's
// constitutional hash.
type Hello struct {
	Health             *health.Report `json:"health"`
	ConstitutionalHash string         `json:"constitutional_hash"`
	// Cluster is true when the server is in cluster mode (the /cluster
	// routes answer), ClusterUsage when GET /cluster/usage does: the
	// dashboard asks for them only then.
	Cluster      bool `json:"cluster,omitempty"`
	ClusterUsage bool `json:"cluster_usage,omitempty"`
}

// DecodeStrict decodes exactly one JSON value from r into dst, the way the
// ops API reads request bodies: unknown object fields are errors, and so is
// anything but white space after the value. An empty input is io.EOF.
// A field that has the wrong JSON type is a *ValidationError naming the
// field (for example "policy.jitter"); an unknown field is a
// *ValidationError naming it. Other errors are the decoder's (syntax errors,
// errors of the destination's UnmarshalJSON or UnmarshalText) or r's (such as
// *http.MaxBytesError).
func DecodeStrict(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return describeDecodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return errTrailing
		}
		// A read error (such as a body too large) wins over the
		// syntax error of a truncated token.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return errTrailing
		}
		return err
	}
	return nil
}

var errTrailing = errors.New("api: unexpected data after the JSON value")

func describeDecodeError(err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &ValidationError{Field: field, Err: fmt.Errorf("must be a JSON %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)}
	}
	const prefix = "json: unknown field "
	if msg := err.Error(); len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		name := msg[len(prefix):]
		if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
			name = name[1 : len(name)-1]
		}
		return &ValidationError{Field: name, Err: errors.New("unknown field")}
	}
	return err
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "ptr":
		return "value"
	default:
		return "number"
	}
}

// Marshal encodes v as the ops API does: compact JSON without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// LeverRequest is the optional body of POST /cluster/emergency-stop and
// /cluster/reset: who pulls the lever (empty: the client's address).
type LeverRequest struct {
	By string `json:"by,omitempty"`
}

// FleetInjection is the body of POST /cluster/chaos: a scenario (its JSON
// form, as POST /chaos/scenarios takes it) for the instances the selector
// chooses, and who injects it.
type FleetInjection struct {
	Scenario chaos.Scenario   `json:"scenario"`
	Selector cluster.Selector `json:"selector"`
	By       string           `json:"by,omitempty"`
}

// FleetStopped is the answer of DELETE /cluster/chaos/{name}: how many
// instances' assignments were removed.
type FleetStopped struct {
	Name    string `json:"name"`
	Stopped int    `json:"stopped"`
}
