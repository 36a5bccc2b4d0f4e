// Package bench holds side-by-side benchmarks of the antifragile toolkit
// against peer libraries. It is its own module (replace => ../) so that the
// peers — sony/gobreaker v2 and failsafe-go — never enter the core go.mod.
//
// The package has no exported API; everything lives in _test.go files. Run
// the comparison and summarise it with benchstat:
//
//	cd bench
//	go test -run '^$' -bench . -benchmem -count=10 ./... > /tmp/bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -filter '-.name:Baseline' -col /impl -row .name,/api /tmp/bench.txt
//
// Benchmark names carry benchstat keys: BenchmarkClosed/impl=gobreaker/api=execute
// measures one successful call through a closed sony/gobreaker with Execute.
// The impl key selects the implementation (reference, antifragile and its
// configurations, gobreaker, failsafe) and api the call form (twostep or
// execute). BenchmarkBaseline measures an atomic load, an atomic add,
// time.Now and time.Since on the same machine, to read the rest against.
// docs/benchmarks.md records the medians.
package bench
