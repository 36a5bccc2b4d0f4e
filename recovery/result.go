package recovery

import (
	"time"

	"github.com/antifragile-go/antifragile"
)

// Result is the outcome of one recovery attempt. In JSON its fields are
// snake_case and Elapsed is a string such as "1.2s".
type Result struct {
	// Service is the recovered service's name.
	Service string `json:"service"`
	// Success reports whether the attempt recovered the service.
	Success bool `json:"success"`
	// AttemptNumber is this attempt's number, counting from 1.
	AttemptNumber int `json:"attempt_number"`
	// TotalAttempts is the number of attempts the policy allows.
	TotalAttempts int `json:"total_attempts"`
	// Elapsed is how long the attempt took.
	Elapsed antifragile.Duration `json:"elapsed"`
	// State is the task's state after the attempt: succeeded, scheduled
	// (a retry is due), failed, awaiting_manual or cancelled.
	State State `json:"state"`
	// Error says why the attempt failed, including a health check that
	// returned an error, timed out or panicked. Empty on success.
	Error string `json:"error,omitempty"`
	// HealthCheckPassed reports whether a health check ran and passed.
	HealthCheckPassed bool `json:"health_check_passed"`
	// Timestamp is when the attempt ended.
	Timestamp time.Time `json:"timestamp"`
	// ConstitutionalHash is the orchestrator's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Task is a copy of one service's recovery task. Times that do not apply
// are zero and left out of JSON.
type Task struct {
	Service       string    `json:"service"`
	State         State     `json:"state"`
	Strategy      Strategy  `json:"strategy"`
	Priority      int       `json:"priority"`
	AttemptCount  int       `json:"attempt_count"`
	MaxAttempts   int       `json:"max_attempts"`
	ScheduledAt   time.Time `json:"scheduled_at"`
	LastAttemptAt time.Time `json:"last_attempt_at,omitzero"`
	// NextAttemptAt is when the next attempt is due; zero unless the task
	// is scheduled.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// LastError is the last failed attempt's error, if any.
	LastError string `json:"last_error,omitempty"`
	// Learning says what the Learned strategy makes of the service's
	// history, and why; nil (left out of JSON) for the other strategies.
	Learning *Learning `json:"learning,omitempty"`
}

// Status is a point-in-time copy of the orchestrator's state.
type Status struct {
	// Running reports whether Run is running.
	Running bool `json:"running"`
	// ActiveCount is the number of tracked tasks (the length of Services).
	ActiveCount int `json:"active_count"`
	// QueuedCount is the number of scheduled tasks waiting for an attempt.
	QueuedCount int `json:"queued_count"`
	// InProgressCount is the number of attempts running.
	InProgressCount int `json:"in_progress_count"`
	// Services holds every tracked task, in no particular order.
	Services []Task `json:"services"`
	// RecentResults holds the last 10 results, oldest first.
	RecentResults []Result `json:"recent_results"`
	// DroppedBreakerEvents counts breaker events lost because the watch
	// subscription's buffer was full (see Config.WatchBuffer).
	DroppedBreakerEvents uint64 `json:"dropped_breaker_events"`
	// History counts the kept outage history (see Orchestrator.Outages).
	History HistoryStatus `json:"history"`
	// Predictions counts the outcomes of AtRisk predictions.
	Predictions PredictionStatus `json:"predictions"`
	// Cautious lists the breakers in cautious mode (see CautiousConfig),
	// by name; left out of the JSON when none is.
	Cautious []CautiousStatus `json:"cautious,omitempty"`
	// Timestamp is when the status was taken.
	Timestamp time.Time `json:"timestamp"`
	// ConstitutionalHash is the orchestrator's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}
