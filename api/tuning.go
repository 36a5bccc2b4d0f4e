package api

import (
	"encoding/json"
	"time"
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
