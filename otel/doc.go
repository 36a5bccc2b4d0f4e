// Package afotel exports antifragile's components through OpenTelemetry.
package afotel
