package metering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/antifragile-go/antifragile"
)

// Operation names a billable operation. The eight governance operations
// below are predefined; any other non-empty name is accepted and metered as
// is.
type Operation string

// The predefined operations: the steps of a governed agent system that are
// billed.
const (
	OpConstitutionalValidation Operation = "constitutional_validation"
	OpAgentMessage             Operation = "agent_message"
	OpPolicyEvaluation         Operation = "policy_evaluation"
	OpComplianceCheck          Operation = "compliance_check"
	OpAuditWrite               Operation = "audit_write"
	OpDeliberationRequest      Operation = "deliberation_request"
	OpHITLApproval             Operation = "hitl_approval"
	OpBlockchainAnchor         Operation = "blockchain_anchor"
)

// Operations returns the predefined operations, in the order of the
// constants above. The returned slice is new on every call.
func Operations() []Operation {
	return []Operation{
		OpConstitutionalValidation, OpAgentMessage, OpPolicyEvaluation, OpComplianceCheck,
		OpAuditWrite, OpDeliberationRequest, OpHITLApproval, OpBlockchainAnchor,
	}
}

// Known reports whether o is one of the predefined operations.
func (o Operation) Known() bool {
	switch o {
	case OpConstitutionalValidation, OpAgentMessage, OpPolicyEvaluation, OpComplianceCheck,
		OpAuditWrite, OpDeliberationRequest, OpHITLApproval, OpBlockchainAnchor:
		return true
	}
	return false
}

// Tier is the pricing tier an operation is billed at. An empty Tier means
// TierStandard.
type Tier string

// The pricing tiers.
const (
	TierStandard     Tier = "standard"
	TierEnhanced     Tier = "enhanced"
	TierDeliberation Tier = "deliberation"
	TierEnterprise   Tier = "enterprise"
)

// Tiers returns the predefined tiers, cheapest first. The returned slice is
// new on every call.
func Tiers() []Tier {
	return []Tier{TierStandard, TierEnhanced, TierDeliberation, TierEnterprise}
}

// Known reports whether t is one of the predefined tiers.
func (t Tier) Known() bool {
	switch t {
	case TierStandard, TierEnhanced, TierDeliberation, TierEnterprise:
		return true
	}
	return false
}

// Outcome says how a metered operation ended. Its zero value is OutcomeOK.
// Only OK and Error outcomes are billable by default: a call that a breaker
// rejected without running it, or a fault injected by a chaos experiment, is
// recorded but not billed unless a sink chooses to (see MemoryConfig.BillAll).
type Outcome uint8

// The outcomes; their JSON form is the lower-case string.
const (
	// OutcomeOK: the operation ran and succeeded ("ok").
	OutcomeOK Outcome = iota
	// OutcomeError: the operation ran and failed ("error").
	OutcomeError
	// OutcomeRejected: a circuit breaker refused the call; it did not run ("rejected").
	OutcomeRejected
	// OutcomeInjected: a chaos experiment injected the result ("injected").
	OutcomeInjected
)

var outcomeNames = [...]string{"ok", "error", "rejected", "injected"}

// ErrUnknownOutcome is returned when decoding an outcome name that is none of
// "ok", "error", "rejected" and "injected".
var ErrUnknownOutcome = errors.New("metering: unknown outcome")

// String returns "ok", "error", "rejected", "injected", or "outcome(N)".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Billable reports whether o is OutcomeOK or OutcomeError.
func (o Outcome) Billable() bool { return o == OutcomeOK || o == OutcomeError }

// ParseOutcome returns the Outcome named s; the empty string means OutcomeOK.
func ParseOutcome(s string) (Outcome, error) {
	if s == "" {
		return OutcomeOK, nil
	}
	for i, n := range outcomeNames {
		if n == s {
			return Outcome(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownOutcome, s)
}

// MarshalText implements encoding.TextMarshaler. An outcome outside the four
// known ones is an error.
func (o Outcome) MarshalText() ([]byte, error) {
	if int(o) >= len(outcomeNames) {
		return nil, fmt.Errorf("%w %d", ErrUnknownOutcome, o)
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (see ParseOutcome).
func (o *Outcome) UnmarshalText(b []byte) error {
	v, err := ParseOutcome(string(b))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// Event is one metered operation: who (tenant, agent) did what (operation,
// tier), how much (tokens), how fast (latency), how well (compliance,
// outcome) and when.
//
// Fields left empty are filled in when the Meter hands the event to its sink:
// ID (unique within and across meters), Tenant ("default"), Tier
// ("standard"), Hash (the meter's constitutional hash); Time is stamped by
// Record. Compliance is clamped to [0, 1] (NaN becomes 0), a negative Latency
// or Tokens becomes 0, Tokens above MaxEventTokens and Latency above
// MaxEventLatency are lowered to those bounds (counted in Metrics.Clamped),
// and Time is converted to UTC. Validate reports the same bounds as errors,
// for sinks that receive events from elsewhere than a Meter.
//
// Its JSON form (snake_case fields, latency in milliseconds) is:
//
//	{"id":"…","tenant_id":"acme","operation":"agent_message","tier":"standard",
//	 "agent_id":"proposer","tokens_processed":12,"latency_ms":0.25,
//	 "compliance_score":1,"outcome":"ok","metadata":{"is_valid":true},
//	 "timestamp":"2026-01-02T03:04:05.006Z","constitutional_hash":"cdd01ef066bc6cf2"}
//
// CloudEvent converts it to the CloudEvents 1.0 form that OpenMeter ingests.
type Event struct {
	// ID identifies the event for idempotent delivery.
	ID string
	// Tenant is the billed tenant; empty means "default".
	Tenant string
	// Operation is what was done.
	Operation Operation
	// Tier is the pricing tier; empty means TierStandard.
	Tier Tier
	// Agent is the acting agent, if any.
	Agent string
	// Tokens is the number of tokens processed.
	Tokens int64
	// Latency is how long the operation took (JSON: latency_ms, a float).
	Latency time.Duration
	// Compliance is the compliance score in [0, 1].
	Compliance float64
	// Outcome says how the operation ended; the zero value is OutcomeOK.
	Outcome Outcome
	// Metadata holds extra JSON-encodable facts. Recording an event with
	// metadata costs the map; an event without allocates nothing.
	Metadata map[string]any
	// Time is when the operation happened, in UTC; zero means "now" to Record.
	Time time.Time
	// ConstitutionalHash is the constitutional hash; empty means the meter's.
	ConstitutionalHash string
}

// DefaultTenant is the tenant of an event recorded without one.
const DefaultTenant = "default"

// Bounds of one event's figures. With them, the sums over a batch of at
// most MaxBatchSize events cannot overflow an int64 (100,000 × 24 h in
// nanoseconds is 8.6×10^18).
const (
	MaxEventTokens  = 1 << 40 // about 1.1×10^12 tokens
	MaxEventLatency = 24 * time.Hour
)

// Validate reports the figures of e outside their bounds — tokens and
// latency negative or above MaxEventTokens / MaxEventLatency, a compliance
// score outside [0, 1] or NaN, an unknown outcome — each as a
// *ValidationError naming its JSON field, joined; nil when e is valid. A
// Meter never delivers an invalid event (it clamps; see Event), so Validate
// is for sinks and tools that take events from elsewhere.
func (e *Event) Validate() error {
	var p antifragile.Problems
	antifragile.InRange(&p, "tokens_processed", e.Tokens, 0, MaxEventTokens, "")
	if e.Latency < 0 || e.Latency > MaxEventLatency {
		p.Invalid("latency_ms", e.Latency, "must be within [0, %s]", MaxEventLatency)
	}
	if !(e.Compliance >= 0 && e.Compliance <= 1) {
		p.Invalid("compliance_score", e.Compliance, "must be within [0, 1]")
	}
	if int(e.Outcome) >= len(outcomeNames) {
		p.Invalid("outcome", int(e.Outcome), "is not a known outcome")
	}
	return p.Err()
}

// normalize applies the documented defaults and clamps, and reports
// whether it had to lower a figure above its bound.
func (e *Event) normalize(hash string) (clamped bool) {
	if e.Tenant == "" {
		e.Tenant = DefaultTenant
	}
	if e.Tier == "" {
		e.Tier = TierStandard
	}
	if e.ConstitutionalHash == "" {
		e.ConstitutionalHash = hash
	}
	e.Compliance = clamp01(e.Compliance)
	if e.Latency < 0 {
		e.Latency = 0
	}
	if e.Tokens < 0 {
		e.Tokens = 0
	}
	if e.Tokens > MaxEventTokens {
		e.Tokens, clamped = MaxEventTokens, true
	}
	if e.Latency > MaxEventLatency {
		e.Latency, clamped = MaxEventLatency, true
	}
	if int(e.Outcome) >= len(outcomeNames) {
		e.Outcome = OutcomeError
	}
	e.Time = e.Time.UTC()
	return clamped
}

func clamp01(f float64) float64 {
	switch {
	case f > 1:
		return 1
	case f >= 0:
		return f
	default: // negative or NaN
		return 0
	}
}

// maxLatencyMS bounds latency_ms to what a time.Duration holds.
const maxLatencyMS = float64(math.MaxInt64) / 1e6

// AppendJSON appends e's JSON form (one object, no trailing newline) to dst
// and returns the extended buffer. It never fails: metadata that
// encoding/json cannot encode is replaced by {"metadata_error":"<reason>"},
// a non-finite compliance score is written as 0, and a time outside years
// 0–9999 as the zero time — so that a bad event can never wedge a sink that
// retries. It is safe for concurrent use on distinct buffers.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"tenant_id":`...)
	dst = appendString(dst, e.Tenant)
	dst = append(dst, `,"operation":`...)
	dst = appendString(dst, string(e.Operation))
	dst = append(dst, `,"tier":`...)
	dst = appendUsage(dst, e)
	dst = append(dst, `,"timestamp":"`...)
	t := e.Time.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		t = time.Time{}
	}
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","constitutional_hash":`...)
	dst = appendString(dst, e.ConstitutionalHash)
	return append(dst, '}')
}

// MarshalJSON implements json.Marshaler with AppendJSON; it never fails.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 256)), nil
}

// wireEvent is the decoding form of Event.
type wireEvent struct {
	ID         string          `json:"id"`
	Tenant     string          `json:"tenant_id"`
	Operation  Operation       `json:"operation"`
	Tier       Tier            `json:"tier"`
	Agent      string          `json:"agent_id"`
	Tokens     int64           `json:"tokens_processed"`
	LatencyMS  float64         `json:"latency_ms"`
	Compliance float64         `json:"compliance_score"`
	Outcome    Outcome         `json:"outcome"`
	Metadata   map[string]any  `json:"metadata"`
	Time       json.RawMessage `json:"timestamp"`
	Hash       string          `json:"constitutional_hash"`
}

// UnmarshalJSON implements json.Unmarshaler for the form AppendJSON writes.
// Unknown fields are ignored and missing ones stay zero. It refuses an
// unknown outcome, a timestamp that is not RFC 3339, and a latency_ms or
// compliance_score that is negative, not finite, or too large (compliance
// above 1, latency beyond what a time.Duration holds). Errors wrap
// ErrDecode.
func (e *Event) UnmarshalJSON(data []byte) error {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	ev, err := w.event()
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// ErrDecode is wrapped by every error decoding an event or a CloudEvent.
var ErrDecode = errors.New("metering: cannot decode event")

func (w *wireEvent) event() (Event, error) {
	if math.IsNaN(w.LatencyMS) || w.LatencyMS < 0 || w.LatencyMS > maxLatencyMS {
		return Event{}, fmt.Errorf("%w: latency_ms %v out of range", ErrDecode, w.LatencyMS)
	}
	if math.IsNaN(w.Compliance) || w.Compliance < 0 || w.Compliance > 1 {
		return Event{}, fmt.Errorf("%w: compliance_score %v outside [0, 1]", ErrDecode, w.Compliance)
	}
	var ts time.Time
	if len(w.Time) > 0 && !bytes.Equal(w.Time, []byte("null")) {
		if err := ts.UnmarshalJSON(w.Time); err != nil {
			return Event{}, fmt.Errorf("%w: timestamp: %w", ErrDecode, err)
		}
	}
	if len(w.Metadata) == 0 {
		w.Metadata = nil // AppendJSON omits empty metadata
	}
	d := time.Duration(math.Round(w.LatencyMS * 1e6))
	if d < 0 { // rounding at the very top of the range
		d = math.MaxInt64
	}
	return Event{
		ID: w.ID, Tenant: w.Tenant, Operation: w.Operation, Tier: w.Tier, Agent: w.Agent,
		Tokens: w.Tokens, Latency: d, Compliance: w.Compliance, Outcome: w.Outcome,
		Metadata: w.Metadata, Time: ts.UTC(), ConstitutionalHash: w.Hash,
	}, nil
}

func appendMetadata(dst []byte, md map[string]any) []byte {
	b, err := json.Marshal(md)
	if err != nil {
		dst = append(dst, `{"metadata_error":`...)
		dst = appendString(dst, err.Error())
		return append(dst, '}')
	}
	return append(dst, b...)
}

// appendFloat writes f as a JSON number; non-finite values become 0.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way encoding/json does:
// control characters, quote and backslash escaped, invalid UTF-8 replaced by
// U+FFFD, and U+2028 / U+2029 escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendUsage appends the tier's JSON string and the usage fields that
// follow it in both the plain and the CloudEvents form: agent_id (when
// set), tokens_processed, latency_ms, compliance_score, outcome and metadata
// (when any).
func appendUsage(dst []byte, e *Event) []byte {
	dst = appendString(dst, string(e.Tier))
	if e.Agent != "" {
		dst = append(dst, `,"agent_id":`...)
		dst = appendString(dst, e.Agent)
	}
	dst = append(dst, `,"tokens_processed":`...)
	dst = strconv.AppendInt(dst, e.Tokens, 10)
	dst = append(dst, `,"latency_ms":`...)
	dst = appendFloat(dst, float64(e.Latency)/1e6)
	dst = append(dst, `,"compliance_score":`...)
	dst = appendFloat(dst, e.Compliance)
	dst = append(dst, `,"outcome":"`...)
	if int(e.Outcome) < len(outcomeNames) {
		dst = append(dst, outcomeNames[e.Outcome]...)
	} else {
		dst = append(dst, "error"...)
	}
	dst = append(dst, '"')
	if len(e.Metadata) > 0 {
		dst = append(dst, `,"metadata":`...)
		dst = appendMetadata(dst, e.Metadata)
	}
	return dst
}
