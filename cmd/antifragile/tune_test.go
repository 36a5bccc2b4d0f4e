package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTune(t *testing.T) {
	dir := t.TempDir()
	calm := filepath.Join(dir, "calm.json")
	doc := `{"name": "calm", "traffic": {"rate": 100}, "phases": [{"name": "steady", "duration": "500ms", "expect": "steady"}],
	  "objective": {"metric": "failed", "error_budget": 10}}`
	if err := os.WriteFile(calm, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("says when nothing is better, with the table and the report", func(t *testing.T) {
		var out, errOut bytes.Buffer
		report := filepath.Join(dir, "tune.json")
		err := run(context.Background(), []string{"tune", "-scenario", calm, "-seed", "5", "-knobs", "recovery.max_delay", "-report", report}, nil, &out, &errOut)
		if err != nil {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
		for _, want := range []string{`tuning "calm"`, "minimise failed, at most 10 failed messages", "run  1  current", "run  4  recovery.max_delay=10s",
			"CURRENT", "PROPOSED", "failed messages", "no better setting found"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "config patch") {
			t.Errorf("a patch with nothing better:\n%s", out.String())
		}
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Better bool              `json:"better"`
			Trials []json.RawMessage `json:"trials"`
			Patch  map[string]any    `json:"patch"`
		}
		if err := json.Unmarshal(b, &got); err != nil || got.Better || len(got.Trials) != 4 || len(got.Patch) != 0 {
			t.Errorf("report %s: %+v %v", b, got, err)
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"tune", "-knobs", "nope"}, {"tune", "-duration", "-1s"}, {"tune", "extra"}, {"tune", "-scenario", filepath.Join(dir, "missing.json")}} {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), args, nil, &out, &errOut); exitCode(err) != exitUsage {
				t.Errorf("%v: exit %d (%v), want %d", args, exitCode(err), err, exitUsage)
			}
		}
	})
}
