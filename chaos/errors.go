package chaos

import (
	"errors"
	"strconv"

	"github.com/antifragile-go/antifragile"
)

// ValidationError reports an invalid Scenario or Config field. It is the
// toolkit-wide antifragile.ValidationError; errors.Is(err,
// antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// Errors returned by the engine and by faults.
var (
	// ErrInjected is matched (errors.Is) by every error a TypeError scenario
	// injects, so that an injected failure can be told from a real one.
	ErrInjected = errors.New("chaos: injected error")
	// ErrPartitioned is returned by Apply (and chaoshttp) for a target cut
	// off by a TypeNetworkPartition scenario.
	ErrPartitioned = errors.New("chaos: network partition injected")
	// ErrCrashed is what a message to an agent under a TypeCrash scenario
	// fails with: its handler does not run.
	ErrCrashed = errors.New("chaos: agent crashed")
	// ErrEmergencyStop refuses injections after EmergencyStop (or a stop
	// condition) until Reset.
	ErrEmergencyStop = errors.New("chaos: emergency stop active")
	// ErrClosed refuses injections after Close.
	ErrClosed = errors.New("chaos: engine closed")
	// ErrStopCondition refuses an injection while one of its stop conditions
	// already holds.
	ErrStopCondition = errors.New("chaos: stop condition holds")
	// ErrNotRunning refuses an injection guarded by stop conditions while
	// Run is not running, since nothing would check them.
	ErrNotRunning = errors.New("chaos: stop conditions need Engine.Run to be running")
	// ErrRunning is returned by a second concurrent call of Run.
	ErrRunning = errors.New("chaos: Run is already running")
	// ErrResourceCap refuses a resource_exhaustion scenario that would take
	// the resource's total level above 1 (the configured cap).
	ErrResourceCap = errors.New("chaos: resource cap exceeded")
	// ErrNoRegistry refuses a circuit_breaker scenario on an engine built
	// without a breaker registry.
	ErrNoRegistry = errors.New("chaos: no breaker registry")
	// ErrNoPool refuses a connections scenario none of whose targets names a
	// pool created with Engine.Pool.
	ErrNoPool = errors.New("chaos: no connection pool for the target")
)

// InjectedError is the error a TypeError scenario injects. errors.Is(err,
// ErrInjected) holds for it, and errors.Is(err, X) for the scenario's own
// Err X. The engine builds one per scenario and target when the scenario is
// injected, so returning it allocates nothing.
type InjectedError struct {
	// Scenario names the scenario that injected the error.
	Scenario string
	// Target is the target of the failed call.
	Target string
	// Message is the scenario's ErrorMessage.
	Message string
	// Err is the scenario's Err; nil for the default error.
	Err error
}

// Error reads like `chaos: scenario "errors_db_0.5" injected an error into
// "db": <message or Err>`.
func (e *InjectedError) Error() string {
	msg := "chaos: scenario " + strconv.Quote(e.Scenario) + " injected an error into " + strconv.Quote(e.Target)
	switch {
	case e.Err != nil:
		msg += ": " + e.Err.Error()
	case e.Message != "":
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns the scenario's Err (nil for the default error).
func (e *InjectedError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInjected.
func (e *InjectedError) Is(target error) bool { return target == ErrInjected }
