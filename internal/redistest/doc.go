// Package redistest starts real redis-server processes for tests: each on a
// free loopback port, stopped when the test ends. Tests that need Redis call
// Start (or StartPersistent for data that must survive Kill and Restart);
// where the redis-server binary is not on PATH the test is skipped with a
// message saying so — or fails when the CI environment variable is set (CI
// installs it, so CI never skips). The process handling is
// internal/servertest's.
//
//	srv := redistest.Start(t)
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
package redistest
