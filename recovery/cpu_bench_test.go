//go:build unix

package recovery_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/recovery"
)

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRun_idleCPU measures the process CPU time spent over 200 ms of
// real time while Run waits for 10,000 tasks due an hour later (one op = 200
// ms of waiting). It should be about zero: Run sleeps on one timer.
func BenchmarkRun_idleCPU(b *testing.B) {
	o := mustNew(b, recovery.Config{DefaultPolicy: recovery.Policy{InitialDelay: time.Hour}}, nil)
	for _, name := range serviceNames(benchServices) {
		_ = o.Schedule(name, recovery.ExponentialBackoff, 0, nil)
	}
	stop := start(b, o)
	defer stop()
	time.Sleep(10 * time.Millisecond) // let Run take in the queue
	var cpu time.Duration
	for b.Loop() {
		before := cpuTime(b)
		time.Sleep(200 * time.Millisecond)
		cpu += cpuTime(b) - before
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(100*float64(cpu)/float64(time.Duration(b.N)*200*time.Millisecond), "cpu-%")
}
