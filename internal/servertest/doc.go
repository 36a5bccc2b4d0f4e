// Package servertest runs real server processes — redis-server,
// nats-server — for tests: each on a free loopback port with its own
// temporary directory, killed when the test ends, and killed with the test
// binary if that dies first. The redistest and natstest packages describe
// their servers with a Spec; tests use those.
//
// A server binary that is not on PATH skips the test with a message saying
// how to install it — unless the CI environment variable is set: CI
// installs every server, so there a missing binary fails the test.
package servertest
