package busnats

import (
	"context"
	"errors"
	"fmt"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
)

// ValidationError is the toolkit's validation error.
type ValidationError = antifragile.ValidationError

// Errors of the transport. Match them with errors.Is.
var (
	// ErrNoResponders: no process serves the agent (none subscribed, or
	// the last replica died). It fails fast, counts as a failure for the
	// sender's breaker of the agent, and is metered at the sender: the
	// error wraps bus.ErrNotDelivered too.
	ErrNoResponders = errors.New("busnats: no responders")
	// ErrClosed: the transport was closed.
	ErrClosed = errors.New("busnats: transport closed")
	// ErrServing: Serve was called twice for one agent.
	ErrServing = errors.New("busnats: agent already served")

	errTooManyHeaders = errors.New("too many headers")
	errEnvelope       = errors.New(`want "<sent>,<deadline>,<from>"`)
)

// NotDeliveredError is the error of a message that reached no receiving
// process; errors.Is matches Err (ErrNoResponders, a closed connection,
// the context's error) and bus.ErrNotDelivered.
type NotDeliveredError struct {
	Agent string
	Err   error
}

func (e *NotDeliveredError) Error() string {
	return fmt.Sprintf("busnats: message to %q not delivered: %v", e.Agent, e.Err)
}

// Unwrap returns Err and bus.ErrNotDelivered.
func (e *NotDeliveredError) Unwrap() []error { return []error{e.Err, bus.ErrNotDelivered} }

// Kinds of RemoteError: how a receiver's delivery failed.
const (
	KindUnknownAgent = "unknown_agent" // bus.ErrUnknownAgent: the process does not serve it any more
	KindBreakerOpen  = "breaker_open"  // breaker.ErrOpen at the receiver
	KindTooMany      = "too_many"      // breaker.ErrTooManyRequests at the receiver
	KindInjected     = "injected"      // chaos.ErrInjected at the receiver
	KindPartitioned  = "partitioned"   // chaos.ErrPartitioned at the receiver
	KindHashMismatch = "hash_mismatch" // antifragile.ErrHashMismatch: refused at the receiver
	KindPanic        = "panic"         // bus.ErrHandlerPanic
	KindDeadline     = "deadline"      // context.DeadlineExceeded: the deadline passed at the receiver
	KindCanceled     = "canceled"      // context.Canceled at the receiver
	KindClosed       = "closed"        // bus.ErrClosed: the receiving bus is closed
	KindMalformed    = "malformed"     // the request could not be read
	KindError        = "error"         // any other error of the handler
	kindEncoding     = KindError
)

// kinds maps each kind with a sentinel to it, in the order kindOf tries
// them.
var kinds = [...]struct {
	kind string
	err  error
}{
	{KindHashMismatch, antifragile.ErrHashMismatch},
	{KindUnknownAgent, bus.ErrUnknownAgent},
	{KindBreakerOpen, breaker.ErrOpen},
	{KindTooMany, breaker.ErrTooManyRequests},
	{KindPartitioned, chaos.ErrPartitioned},
	{KindInjected, chaos.ErrInjected},
	{KindPanic, bus.ErrHandlerPanic},
	{KindDeadline, context.DeadlineExceeded},
	{KindCanceled, context.Canceled},
	{KindClosed, bus.ErrClosed},
}

// kindOf returns the kind of a receiver's error.
func kindOf(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return KindError
}

// RemoteError is a delivery that failed in the receiving process: its
// pipeline refused the message or the handler returned an error. errors.Is
// matches the sentinel of its Kind (KindBreakerOpen: breaker.ErrOpen,
// KindDeadline: context.DeadlineExceeded, KindHashMismatch:
// antifragile.ErrHashMismatch …), so that a remote failure reads like a
// local one; Message is the receiver's error text.
type RemoteError struct {
	Agent   string
	Kind    string
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("busnats: agent %q failed remotely (%s): %s", e.Agent, e.Kind, e.Message)
}

// Is reports whether target is the sentinel of e's Kind.
func (e *RemoteError) Is(target error) bool {
	for _, k := range kinds {
		if k.kind == e.Kind {
			return target == k.err
		}
	}
	return false
}
