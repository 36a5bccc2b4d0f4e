package api

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
)

// TuningChange is a change of settings that a tuning run measured
// (`antifragile tune -apply`), the body of POST /tune/apply: for each of
// Services, the fields of Breaker (a partial breaker.Config JSON object)
// are set on its breaker and those of Recovery (a partial recovery.Policy)
// on its recovery policy, every other field kept. Why, Before and After
// are required: a change is never applied without the measurement that
// justifies it.
type TuningChange struct {
	Services []string        `json:"services"`
	Breaker  json.RawMessage `json:"breaker,omitempty"`
	Recovery json.RawMessage `json:"recovery,omitempty"`
	Why      string          `json:"why"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
}

// LedgerEntry is one applied TuningChange, as the tuning ledger keeps it:
// when, what was applied, and the change with its measurements.
type LedgerEntry struct {
	// Seq numbers the entries from 1, across restarts when the ledger is
	// kept in a file.
	Seq int       `json:"seq"`
	At  time.Time `json:"at"`
	// Applied lists what was changed ("breaker proposer", "recovery
	// proposer").
	Applied []string `json:"applied"`
	TuningChange
}

// Ledger is the answer of GET /tune/ledger: the applied tuning changes,
// oldest first.
type Ledger struct {
	Entries            []LedgerEntry `json:"entries"`
	ConstitutionalHash string        `json:"constitutional_hash"`
}

// Errors of the tuning trial, matched with errors.Is; the ops API answers
// ErrTrialActive with 409 and ErrNoTrial with 404.
var (
	// ErrTrialActive: a trial is in progress, so a change that would
	// outlast it (POST /tune/apply) or a trial of other services is
	// refused until it ends.
	ErrTrialActive = errors.New("a tuning trial is in progress")
	// ErrNoTrial: no trial is in progress.
	ErrNoTrial = errors.New("no tuning trial is in progress")
)

// Bounds of a tuning trial.
const (
	// DefaultTrialTTL is a trial's time to live when TrialRequest.TTL is 0.
	DefaultTrialTTL = 10 * time.Minute
	// MaxTrialTTL bounds TrialRequest.TTL.
	MaxTrialTTL = time.Hour
)

// TrialRequest is the body of POST /tune/trial: put candidate settings in
// force for a while so that a tuning run (`antifragile tune -remote`) can
// measure them on the live service. For each of Services, the fields of
// Breaker (a partial breaker.Config JSON object) and of Recovery (a partial
// recovery.Policy) are set on top of the settings the service had before
// the trial — never on top of an earlier candidate — and every other field
// is the service's own; no fields at all puts those settings back while
// the trial goes on. The trial ends with DELETE /tune/trial, a reload or
// when TTL passes without another POST, and its end restores every
// service's settings from before it. A trial is not a tuning change: the
// ledger does not record it, and a change cannot be applied while one runs.
type TrialRequest struct {
	Services []string        `json:"services"`
	Breaker  json.RawMessage `json:"breaker,omitempty"`
	Recovery json.RawMessage `json:"recovery,omitempty"`
	// TTL is how long the trial lasts without another POST: 0 means
	// DefaultTrialTTL, at most MaxTrialTTL.
	TTL Duration `json:"ttl,omitempty"`
	// By names who runs the trial, for the log and the audit line.
	By string `json:"by,omitempty"`
}

// ServiceSettings are a service's breaker configuration and recovery
// policy, as a tuning trial saves and restores them.
type ServiceSettings struct {
	Service  string          `json:"service"`
	Breaker  breaker.Config  `json:"breaker"`
	Recovery recovery.Policy `json:"recovery"`
}

// Trial is the answer of the /tune/trial routes: the trial in progress, or
// (Active false) the one that just ended, or none.
type Trial struct {
	Active   bool            `json:"active"`
	Services []string        `json:"services,omitempty"`
	Breaker  json.RawMessage `json:"breaker,omitempty"`
	Recovery json.RawMessage `json:"recovery,omitempty"`
	// Original are the services' settings from before the trial, put back
	// when it ends.
	Original []ServiceSettings `json:"original,omitempty"`
	By       string            `json:"by,omitempty"`
	Started  time.Time         `json:"started,omitzero"`
	Expires  time.Time         `json:"expires,omitzero"`
	// Runs counts the candidates the trial put in force (the POSTs).
	Runs int `json:"runs,omitempty"`
	// Ended says why an ended trial ended: "ended" (DELETE), "expired",
	// "reload" or "closed".
	Ended              string `json:"ended,omitempty"`
	ConstitutionalHash string `json:"constitutional_hash"`
}
