// Package api holds the JSON wire types of the ops HTTP API, shared by the
// server (package ops) and the Go client (package client): the error
// envelope, request bodies, the responses that are not a domain type's own
// JSON, and the Server-Sent Events of GET /events.
//
// Where a domain type's JSON round-trips through encoding/json — a
// health.Report, a recovery.Status, a chaos.Scenario, a chaos.Metrics, a
// metering.Usage — the API sends it as it is and this package only wraps
// it. Where it does not, this package has the wire form: Policy decodes a
// recovery policy strictly, field by field, with errors that name the field.
//
// Request bodies are decoded with DecodeStrict: unknown fields and trailing
// data are errors.
//
//	var req api.ScheduleRequest
//	if err := api.DecodeStrict(r.Body, &req); err != nil {
//		return err // a *api.ValidationError names the field when it can
//	}
//	strategy, priority, policy, err := req.Args(recovery.ExponentialBackoff)
//
// Imports: the standard library and the toolkit's domain packages only.
package api
