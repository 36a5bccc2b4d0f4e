package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIssue14_OutputPathsCheckedFirst: an unwritable -report is a one-line
// usage error naming the flag, given before the game day runs (no fault
// injected, no minute spent).
func TestIssue14_OutputPathsCheckedFirst(t *testing.T) {
	t.Parallel()
	s := startOpsServer(t)
	file := filepath.Join(t.TempDir(), "scenario.json")
	if err := os.WriteFile(file, []byte(`{"name":"x","phases":[{"name":"a","duration":"10m",
		"faults":[{"type":"network_partition","target":"validator"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"demo":              {"demo", "-addr", "127.0.0.1:0", "-report", "/no/such/dir/x.html"},
		"gameday":           {"gameday", "-addr", s.url, "-token", cliToken, "-f", file, "-report", "/no/such/dir/x.html"},
		"gameday directory": {"gameday", "-addr", s.url, "-token", cliToken, "-f", file, "-report", t.TempDir()},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			r := cli(t, args...)
			if r.code != exitUsage || !strings.Contains(r.err.Error(), "-report") || strings.Count(strings.TrimSpace(r.err.Error()), "\n") != 0 {
				t.Fatalf("want a one-line usage error naming -report:\n%s", r)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the error came after %s", took)
			}
		})
	}
	if n := s.eng.Metrics().ScenariosRun; n != 0 {
		t.Errorf("%d scenarios were injected before the report path was refused", n)
	}
}

// TestRun_GamedayInconclusive: a game day whose fault targets a service the
// server does not know ends INCONCLUSIVE, with exit status 5.
func TestRun_GamedayInconclusive(t *testing.T) {
	t.Parallel()
	s := startOpsServer(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "scenario.json")
	if err := os.WriteFile(file, []byte(`{"name":"x","phases":[{"name":"a","duration":"200ms"},{"name":"b","duration":"300ms",
		"faults":[{"name":"ghost","type":"latency","target":"nosuchservice","delay":"50ms"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "gameday", "-addr", s.url, "-token", cliToken, "-f", file, "-report", filepath.Join(dir, "r.html"))
	if r.code != 5 {
		t.Fatalf("exit %d, want 5 (INCONCLUSIVE):\n%s", r.code, r)
	}
	for _, want := range []string{"verdict: INCONCLUSIVE", `fault "ghost" hit nothing: "nosuchservice" is not a service or agent of the system`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
}
