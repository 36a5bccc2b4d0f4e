package breaker

import (
	"context"
	"errors"
	"fmt"
)

// Outcome is how a finished call counts: as a success, a failure, or not at
// all (ignored).
type Outcome uint8

const (
	// Success counts for the dependency: it resets the run of consecutive
	// failures and dilutes the failure rate.
	Success Outcome = iota
	// Failure counts against the dependency: it extends the run of
	// consecutive failures and adds to the failure rate; in half-open state
	// it opens the breaker again.
	Failure
	// Ignored says nothing about the dependency (the caller gave up, say): it
	// touches no consecutive count and no window, and in half-open state it
	// gives its trial permit back without deciding anything. Metrics counts
	// it as Ignored.
	Ignored
)

var outcomeNames = [...]string{"success", "failure", "ignored"}

// String returns "success", "failure" or "ignored".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// DefaultClassify is the classifier used when Config.Classify is nil:
// context.Canceled (the caller gave up) is ignored, and every other non-nil
// error is a failure. A nil error is a success and never reaches a
// classifier.
func DefaultClassify(err error) Outcome {
	if errors.Is(err, context.Canceled) {
		return Ignored
	}
	return Failure
}
