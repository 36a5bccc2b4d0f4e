// Package opstest builds, for one test, every component the ops handler
// serves — from the real packages, not doubles — so that the tests of ops,
// client and the CLI exercise the same system.
package opstest
