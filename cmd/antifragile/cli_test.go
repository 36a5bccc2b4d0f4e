package main

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/dashboard"
	"github.com/antifragile-go/antifragile/internal/opstest"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

func TestRun_UsageErrors(t *testing.T) {
	// A dead address: a command that wrongly reached for the server would
	// exit 4, not 2.
	dead := deadAddr(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name":"x","type":"latency","target":"v","error_rate":3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		msg  string // in the error
	}{
		{"no command", nil, "no command given"},
		{"unknown command", []string{"brekers"}, `did you mean "breakers"`},
		{"unknown flag", []string{"breakers", "-bogus", "-addr", dead}, "unknown flag -bogus: run 'antifragile breakers -h'"},
		{"misspelt flag", []string{"health", "-wacth", "-addr", dead}, "did you mean -watch?"},
		{"bad flag value", []string{"health", "-interval", "soon", "-addr", dead}, "-interval soon: want a duration with a unit"},
		{"a duration without unit", []string{"chaos", "inject", "latency", "-target", "x", "-delay", "50", "-addr", dead}, "-delay 50: want a duration with a unit, such as 50ms"},
		{"health with an argument", []string{"health", "db", "-addr", dead}, `unexpected argument "db"`},
		{"interval without watch", []string{"health", "-interval", "5s", "-addr", dead}, "-interval needs -watch"},
		{"unknown state", []string{"breakers", "-state", "sideways", "-addr", dead}, `-state "sideways"`},
		{"breaker without action", []string{"breaker", "-addr", dead}, "missing action"},
		{"breaker unknown action", []string{"breaker", "explode", "db", "-addr", dead}, `unknown action "explode"`},
		{"breaker without name", []string{"breaker", "reset", "-addr", dead}, "missing argument"},
		{"breaker with two names", []string{"breaker", "reset", "db", "cache", "-addr", dead}, `unexpected argument "cache"`},
		{"recovery unknown action", []string{"recovery", "frobnicate", "db", "-addr", dead}, `unknown action "frobnicate"`},
		{"recovery schedule without name", []string{"recovery", "schedule", "-addr", dead}, "recovery schedule NAME"},
		{"recovery bad strategy", []string{"recovery", "schedule", "db", "-strategy", "soon", "-addr", dead}, "-strategy soon"},
		{"recovery bad delay", []string{"recovery", "schedule", "db", "-initial-delay", "x", "-addr", dead}, "-initial-delay x"},
		{"recovery bad policy", []string{"recovery", "schedule", "db", "-jitter", "2", "-addr", dead}, "-jitter 2"},
		{"chaos unknown action", []string{"chaos", "explode", "-addr", dead}, `unknown action "explode"`},
		{"chaos inject without type", []string{"chaos", "inject", "-addr", dead}, "missing fault type"},
		{"chaos inject unknown type", []string{"chaos", "inject", "meteor", "-target", "x", "-addr", dead}, `unknown fault type "meteor"`},
		{"chaos inject without target", []string{"chaos", "inject", "latency", "-delay", "1ms", "-addr", dead}, "-target is required"},
		{"chaos latency without delay", []string{"chaos", "inject", "latency", "-target", "x", "-addr", dead}, "needs -delay"},
		{"chaos bad rate", []string{"chaos", "inject", "error", "-target", "x", "-rate", "2", "-addr", dead}, "-rate 2"},
		{"chaos negative duration", []string{"chaos", "inject", "timeout", "-target", "x", "-for", "-1s", "-addr", dead}, "-for -1s"},
		{"chaos foreign flag", []string{"chaos", "inject", "latency", "-target", "x", "-delay", "1ms", "-rate", "0.5", "-addr", dead}, "-rate does not apply"},
		{"chaos resource without level", []string{"chaos", "inject", "resource", "-target", "x", "-resource", "cpu", "-addr", dead}, "needs -resource"},
		{"chaos unknown resource", []string{"chaos", "inject", "resource", "-target", "x", "-resource", "gpu", "-level", "0.5", "-addr", dead}, "-resource gpu"},
		{"chaos file and type", []string{"chaos", "inject", "latency", "-f", bad, "-addr", dead}, "not both"},
		{"chaos missing file", []string{"chaos", "inject", "-f", filepath.Join(dir, "none.json"), "-addr", dead}, "no such file"},
		{"chaos invalid file", []string{"chaos", "inject", "-f", bad, "-addr", dead}, "error_rate 3"},
		{"chaos stop without name", []string{"chaos", "stop", "-addr", dead}, "missing argument"},
		{"chaos list with argument", []string{"chaos", "list", "x", "-addr", dead}, "unexpected argument"},
		{"bad addr", []string{"breakers", "-addr", "http://"}, "-addr"},
		{"version with argument", []string{"version", "now"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.args...)
			if r.code != exitUsage {
				t.Fatalf("want exit 2, got %v", r)
			}
			if !strings.Contains(r.err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", r.err, tt.msg)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
	t.Run("a flag error is one line, not the usage", func(t *testing.T) {
		r := cli(t, "breakers", "-bogus")
		if r.stderr != "" || r.stdout != "" || strings.Count(errorMessage(r.err), "\n") > 1 {
			t.Errorf("want only the error's line: %v", r)
		}
	})
	t.Run("no command prints the commands", func(t *testing.T) {
		r := cli(t)
		for _, c := range commands() {
			if !strings.Contains(r.stderr, c.name) {
				t.Errorf("stderr lacks %s", c.name)
			}
		}
	})
}

func TestRun_Help(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := cli(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Commands:") || !strings.Contains(r.stdout, "Exit codes") {
			t.Errorf("%v: %v", args, r)
		}
	}
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "-h"}, {"help", c.name}} {
			r := cli(t, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "usage: antifragile "+c.name) || r.stderr != "" {
				t.Errorf("%v: want the usage on stdout, nothing on stderr: %v", args, r)
			}
			if strings.Contains(r.stdout, cliToken) {
				t.Error("usage shows the token")
			}
		}
	}
	t.Run("the token from the environment is never printed", func(t *testing.T) {
		t.Setenv(envToken, "env-secret")
		if r := cli(t, "breaker", "-h"); strings.Contains(r.stdout, "env-secret") {
			t.Error("usage shows the environment's token")
		}
	})
}

func TestRun_Unreachable(t *testing.T) {
	dead := deadAddr(t)
	for _, args := range [][]string{
		{"health"}, {"health", "-watch"}, {"health", "-watch", "-interval", "1s"}, {"breakers"}, {"breaker", "reset", "db"},
		{"recovery"}, {"recovery", "schedule", "db"}, {"recovery", "cancel", "db"},
		{"chaos"}, {"chaos", "inject", "latency", "-target", "validator", "-delay", "100ms", "-for", "30s"},
		{"chaos", "emergency-stop"}, {"chaos", "metrics"}, {"metering"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := cli(t, append(args, "-addr", dead, "-token", cliToken)...)
			if r.code != exitUnreachable || !errors.Is(r.err, client.ErrUnreachable) {
				t.Fatalf("want exit 4: %v", r)
			}
			if msg := errorMessage(r.err); !strings.Contains(msg, "hint: is the daemon running") {
				t.Errorf("message %q", msg)
			}
		})
	}
	t.Run("version reports an unreachable server and exits 4", func(t *testing.T) {
		r := cli(t, "version", "-addr", dead)
		if r.code != exitUnreachable || !strings.Contains(r.stdout, "antifragile "+antifragile.Version) || !strings.Contains(r.stdout, "unreachable") {
			t.Errorf("%v", r)
		}
	})
	t.Run("an address without scheme", func(t *testing.T) {
		r := cli(t, "breakers", "-addr", strings.TrimPrefix(dead, "http://"))
		if r.code != exitUnreachable {
			t.Errorf("%v", r)
		}
	})
}

func TestRun_Refused(t *testing.T) {
	s := startOpsServer(t)
	tests := []struct {
		name string
		args []string
		msg  string
		hint string
	}{
		{"no token", []string{"breaker", "force-open", "db"}, "401", "needs the daemon's token"},
		{"wrong token", []string{"breaker", "force-open", "db", "-token", "wrong"}, "403", "refused the token"},
		{"unknown breaker", []string{"breaker", "reset", "nope", "-token", cliToken}, `404 Not Found: breaker: not found: "nope"`, ""},
		{"not awaiting", []string{"recovery", "resume", "nope", "-token", cliToken}, "404", ""},
		{"unknown scenario", []string{"chaos", "stop", "nope", "-token", cliToken}, "404", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, append(tt.args, "-addr", s.url)...)
			if r.code != exitRefused {
				t.Fatalf("want exit 3: %v", r)
			}
			if !strings.Contains(r.err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", r.err, tt.msg)
			}
			if msg := errorMessage(r.err); tt.hint != "" && !strings.Contains(msg, tt.hint) {
				t.Errorf("message %q lacks %q", msg, tt.hint)
			}
		})
	}
	if b, _ := s.reg.Get("db"); b.State() != breaker.Closed {
		t.Error("a refused command acted")
	}
}

func TestRun_Breakers(t *testing.T) {
	s := startOpsServer(t)
	b, _ := s.reg.Get("db")
	b.ForceOpen()

	r := cli(t, "breakers", "-addr", s.url)
	if r.code != 0 {
		t.Fatal(r)
	}
	table, rules, _ := strings.Cut(strings.TrimSpace(r.stdout), "\n\nTRIP RULES\n")
	lines := strings.Split(table, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[2], "db ") || !strings.Contains(lines[2], "forced_open") {
		t.Errorf("table:\n%s", r.stdout)
	}
	if !strings.Contains(rules, "consecutive failures") || !strings.Contains(rules, "db") {
		t.Errorf("rules section:\n%s", r.stdout)
	}

	r = cli(t, "breakers", "-state", "forced_open", "-json", "-addr", s.url)
	var bs api.Breakers
	if err := json.Unmarshal([]byte(r.stdout), &bs); err != nil || bs.Count != 1 || bs.Breakers[0].Name != "db" {
		t.Errorf("-json -state: %v %+v %v", err, bs, r)
	}
	if r := cli(t, "breakers", "-state", "half_open", "-addr", s.url); r.code != 0 || !strings.Contains(r.stdout, "no breakers") {
		t.Errorf("empty filter: %v", r)
	}
}

func TestRun_Breaker(t *testing.T) {
	s := startOpsServer(t)
	steps := []struct {
		args  []string
		out   string
		state breaker.State
	}{
		{[]string{"breaker", "force-open", "db"}, "db: now forced_open\n", breaker.ForcedOpen},
		{[]string{"breaker", "force-open", "db"}, "db: unchanged, forced_open\n", breaker.ForcedOpen},
		{[]string{"breaker", "release", "db"}, "db: now closed\n", breaker.Closed},
		{[]string{"breaker", "reset", "db"}, "db: reset, now closed\n", breaker.Closed},
	}
	for _, st := range steps {
		r := cli(t, append(st.args, "-addr", s.url, "-token", cliToken)...)
		if r.code != 0 || r.stdout != st.out {
			t.Errorf("%v: %v", st.args, r)
		}
		if b, _ := s.reg.Get("db"); b.State() != st.state {
			t.Errorf("%v: state %v", st.args, b.State())
		}
	}
	t.Run("remove takes a breaker out of the registry", func(t *testing.T) {
		if _, err := s.reg.GetOrCreate("typo", breaker.Config{}); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "breaker", "remove", "typo", "-addr", s.url, "-token", cliToken)
		if r.code != 0 || r.stdout != "typo: removed\n" {
			t.Errorf("remove: %v", r)
		}
		if _, ok := s.reg.Get("typo"); ok {
			t.Error("the breaker is still registered")
		}
	})
	t.Run("flags before the arguments and JSON", func(t *testing.T) {
		r := cli(t, "breaker", "-json", "-addr", s.url, "-token", cliToken, "force-open", "cache")
		var a api.BreakerAction
		if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || a.Breaker != "cache" || !a.Changed {
			t.Errorf("%v %+v %v", err, a, r)
		}
	})
	t.Run("address and token from the environment", func(t *testing.T) {
		t.Setenv(envAddr, s.url)
		t.Setenv(envToken, cliToken)
		if r := cli(t, "breaker", "release", "cache"); r.code != 0 || r.stdout != "cache: now closed\n" {
			t.Errorf("%v", r)
		}
	})
	t.Run("-- ends the flags", func(t *testing.T) {
		if _, err := s.reg.GetOrCreate("-odd", breaker.Config{}); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "breaker", "-addr", s.url, "-token", cliToken, "force-open", "--", "-odd")
		if r.code != 0 || r.stdout != "-odd: now forced_open\n" {
			t.Errorf("%v", r)
		}
	})
}

func TestRun_Health(t *testing.T) {
	s := startOpsServer(t)
	b, _ := s.reg.Get("db")
	b.ForceOpen()
	s.agg.Collect()

	r := cli(t, "health", "-addr", s.url)
	for _, want := range []string{"status    DEGRADED", "score     0.667", "3: 2 closed, 0 half-open, 1 open, 0 disabled", "critical  db", "top offenders:", "db    forced_open  0.333"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "validator") {
		t.Error("circuits listed without -circuits")
	}
	r = cli(t, "health", "-circuits", "-addr", s.url)
	if !strings.Contains(r.stdout, "validator") || !strings.Contains(r.stdout, "IN A ROW") {
		t.Errorf("-circuits:\n%s", r.stdout)
	}
	r = cli(t, "health", "-json", "-addr", s.url)
	var rep health.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Status != health.Degraded || len(rep.Circuits) != 3 {
		t.Errorf("-json: %v %v", err, r)
	}
}

// lineReader runs the CLI with stdout into a pipe and hands out its lines.
type lineReader struct {
	lines chan string
	done  chan result
}

func startCLI(t *testing.T, ctx context.Context, args ...string) *lineReader {
	t.Helper()
	pr, pw := io.Pipe()
	lr := &lineReader{lines: make(chan string, 100), done: make(chan result, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lr.lines <- sc.Text()
		}
		close(lr.lines)
	}()
	go func() {
		var errb strings.Builder
		err := run(ctx, args, strings.NewReader(""), pw, &errb)
		pw.Close()
		lr.done <- result{stderr: errb.String(), err: err, code: exitCode(err)}
	}()
	return lr
}

// next returns the next line that contains want, failing at the deadline.
func (lr *lineReader) next(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	for {
		select {
		case l, ok := <-lr.lines:
			if !ok {
				t.Fatalf("output ended before a line with %q", want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-ctx.Done():
			t.Fatalf("no line with %q before the deadline", want)
		}
	}
}

// nextAll returns, for each of wants, the first line containing it, reading
// lines in whatever order they come until all are found.
func (lr *lineReader) nextAll(t *testing.T, ctx context.Context, wants ...string) map[string]string {
	t.Helper()
	got := make(map[string]string, len(wants))
	for len(got) < len(wants) {
		select {
		case l, ok := <-lr.lines:
			if !ok {
				t.Fatalf("output ended before lines with %q (got %q)", wants, got)
			}
			for _, w := range wants {
				if _, seen := got[w]; !seen && strings.Contains(l, w) {
					got[w] = l
				}
			}
		case <-ctx.Done():
			t.Fatalf("no lines with %q before the deadline (got %q)", wants, got)
		}
	}
	return got
}

func (lr *lineReader) wait(t *testing.T) result {
	t.Helper()
	for range lr.lines {
	}
	return <-lr.done
}

func TestRun_HealthWatch(t *testing.T) {
	t.Run("follows events", func(t *testing.T) {
		s := startOpsServer(t)
		deadline, cancelAll := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelAll()
		// The aggregator's Run delivers health changes.
		runCtx, stopRun := context.WithCancel(deadline)
		ran := make(chan error, 1)
		go func() { ran <- s.agg.Run(runCtx) }()
		defer func() { stopRun(); <-ran }()

		ctx, stop := context.WithCancel(deadline)
		lr := startCLI(t, ctx, "health", "-watch", "-addr", s.url)
		first := lr.next(t, deadline, "score")
		if !strings.Contains(first, "0 of 3 open") {
			t.Errorf("first line %q", first)
		}
		b, _ := s.reg.Get("db")
		b.ForceOpen()
		// The breaker event and the health change travel on different
		// subscriptions: either line may come first.
		got := lr.nextAll(t, deadline, "breaker db closed -> forced_open (forced)", "DEGRADED")
		if l := got["DEGRADED"]; !strings.Contains(l, "open: db") || !strings.Contains(l, "1 of 3 open") {
			t.Errorf("health line %q", l)
		}
		stop()
		if r := lr.wait(t); r.code != 0 {
			t.Errorf("interrupted watch: %v", r)
		}
	})
	t.Run("prints a change of the score alone", func(t *testing.T) {
		s := startOpsServer(t)
		for i := range 7 { // ten breakers: one open leaves the score at 0.9, still HEALTHY
			if _, err := s.reg.GetOrCreate(fmt.Sprintf("svc-%d", i), breaker.Config{}); err != nil {
				t.Fatal(err)
			}
		}
		deadline, cancelAll := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelAll()
		runCtx, stopRun := context.WithCancel(deadline)
		ran := make(chan error, 1)
		go func() { ran <- s.agg.Run(runCtx) }()
		defer func() { stopRun(); <-ran }()
		ctx, stop := context.WithCancel(deadline)
		lr := startCLI(t, ctx, "health", "-watch", "-addr", s.url)
		lr.next(t, deadline, "0 of 10 open")
		b, _ := s.reg.Get("svc-3")
		b.ForceOpen()
		if l := lr.next(t, deadline, "1 of 10 open"); !strings.Contains(l, "HEALTHY") || !strings.Contains(l, "score 0.900") {
			t.Errorf("score line %q", l)
		}
		stop()
		lr.wait(t)
	})
	t.Run("JSON lines", func(t *testing.T) {
		s := startOpsServer(t)
		deadline, cancelAll := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelAll()
		ctx, stop := context.WithCancel(deadline)
		lr := startCLI(t, ctx, "health", "-watch", "-json", "-addr", s.url)
		var ev api.Event
		if err := json.Unmarshal([]byte(lr.next(t, deadline, `"kind":"hello"`)), &ev); err != nil {
			t.Fatal(err)
		}
		if h, err := ev.Hello(); err != nil || h.Health == nil {
			t.Errorf("hello %+v %v", h, err)
		}
		b, _ := s.reg.Get("cache")
		b.ForceOpen()
		if err := json.Unmarshal([]byte(lr.next(t, deadline, `"kind":"breaker"`)), &ev); err != nil {
			t.Fatal(err)
		}
		if be, err := ev.Breaker(); err != nil || be.Breaker != "cache" {
			t.Errorf("breaker %+v %v", be, err)
		}
		stop()
		if r := lr.wait(t); r.code != 0 {
			t.Errorf("%v", r)
		}
	})
	t.Run("polls with -interval", func(t *testing.T) {
		s := startOpsServer(t)
		deadline, cancelAll := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelAll()
		ctx, stop := context.WithCancel(deadline)
		lr := startCLI(t, ctx, "health", "-watch", "-interval", "5ms", "-addr", s.url)
		lr.next(t, deadline, "HEALTHY")
		b, _ := s.reg.Get("db")
		b.ForceOpen()
		lr.next(t, deadline, "DEGRADED")
		stop()
		if r := lr.wait(t); r.code != 0 {
			t.Errorf("%v", r)
		}
	})
}

func TestRun_Recovery(t *testing.T) {
	s := startOpsServer(t)
	if r := cli(t, "recovery", "-addr", s.url); r.code != 0 || !strings.Contains(r.stdout, "orchestrator not running: 0 tracked") {
		t.Errorf("empty status: %v", r)
	}
	r := cli(t, "recovery", "schedule", "db", "-strategy", "manual", "-priority", "2", "-max-attempts", "3",
		"-initial-delay", "10ms", "-addr", s.url, "-token", cliToken)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "db: scheduled (manual, priority 2, attempt 0 of 3") {
		t.Fatalf("schedule: %v", r)
	}
	task, ok := s.orch.Task("db")
	if !ok || task.Strategy != recovery.Manual || task.Priority != 2 || task.MaxAttempts != 3 {
		t.Errorf("task %+v", task)
	}
	r = cli(t, "recovery", "status", "-addr", s.url)
	if r.code != 0 || !strings.Contains(r.stdout, "SERVICE") || !strings.Contains(r.stdout, "db") || !strings.Contains(r.stdout, "manual") {
		t.Errorf("status: %v", r)
	}
	r = cli(t, "recovery", "status", "-json", "-addr", s.url)
	var st recovery.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.ActiveCount != 1 {
		t.Errorf("status -json: %v %v", err, r)
	}
	// resume and resolve need a task awaiting an operator.
	if r := cli(t, "recovery", "resume", "db", "-addr", s.url, "-token", cliToken); r.code != exitRefused || !strings.Contains(r.err.Error(), "409") {
		t.Errorf("resume of a scheduled task: %v", r)
	}
	if err := s.orch.SetPolicy("db", recovery.Policy{HealthCheck: func(context.Context) error { return errors.New("down") }}); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "recovery", "schedule", "db", "-strategy", "manual", "-addr", s.url, "-token", cliToken); r.code != 0 {
		t.Fatal(r)
	}
	if _, err := s.orch.Execute(context.Background(), "db"); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "recovery", "resume", "db", "-addr", s.url, "-token", cliToken); r.code != 0 || !strings.HasPrefix(r.stdout, "db: scheduled") {
		t.Errorf("resume: %v", r)
	}
	if _, err := s.orch.Execute(context.Background(), "db"); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "recovery", "resolve", "db", "-addr", s.url, "-token", cliToken); r.code != 0 || r.stdout != "db: resolve done, no longer tracked\n" {
		t.Errorf("resolve: %v", r)
	}
	if r := cli(t, "recovery", "status", "-addr", s.url); !strings.Contains(r.stdout, "recent results:") || !strings.Contains(r.stdout, "down") {
		t.Errorf("status with results: %v", r)
	}
	if r := cli(t, "recovery", "schedule", "cache", "-addr", s.url, "-token", cliToken); r.code != 0 {
		t.Fatal(r)
	}
	if r := cli(t, "recovery", "cancel", "cache", "-addr", s.url, "-token", cliToken); r.code != 0 || r.stdout != "cache: cancel done, no longer tracked\n" {
		t.Errorf("cancel: %v", r)
	}
	// the resolved and the cancelled outages are in the history
	r = cli(t, "recovery", "history", "db", "-addr", s.url)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "db: too little history (0 of 3 healed outages)") || !strings.Contains(r.stdout, "abandoned") {
		t.Errorf("history: %v", r)
	}
	if r := cli(t, "recovery", "history", "nobody", "-addr", s.url); r.code != 0 || !strings.Contains(r.stdout, "no outages recorded") {
		t.Errorf("history of nobody: %v", r)
	}
	if r := cli(t, "recovery", "status", "-addr", s.url); !strings.Contains(r.stdout, "outage history (in memory): 2 outages of 2 services") {
		t.Errorf("status with history: %v", r)
	}
	if r := cli(t, "recovery", "schedule", "queue", "-strategy", "learned", "-addr", s.url, "-token", cliToken); r.code != 0 {
		t.Fatal(r)
	}
	s.orch.AtRisk("db", time.Time{})
	r = cli(t, "recovery", "status", "-addr", s.url)
	if !strings.Contains(r.stdout, "queue: too little history (0 of 3 healed outages): exponential_backoff, first attempt at 1s") ||
		!strings.Contains(r.stdout, "predictions (horizon 5m0s): 0 true, 0 false, 3 missed outages, 1 pending; precision -, recall 0 %") {
		t.Errorf("status with a learned task and a prediction: %v", r)
	}
}

func TestRun_Chaos(t *testing.T) {
	s := startOpsServer(t)
	t.Run("inject latency from flags", func(t *testing.T) {
		r := cli(t, "chaos", "inject", "latency", "-target", "validator", "-delay", "100ms", "-for", "30s", "-addr", s.url, "-token", cliToken)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "injected latency_validator_100ms: latency 100ms on validator until ") {
			t.Fatalf("%v", r)
		}
		sc, ok := s.eng.Lookup("latency_validator_100ms")
		if !ok || sc.Delay != 100*time.Millisecond || sc.Duration != 30*time.Second || sc.Target != "validator" {
			t.Errorf("scenario %+v", sc)
		}
	})
	t.Run("inject from a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "scenario.json")
		body := `{"name":"flaky-db","type":"error","target":"db","error_rate":0.25,"duration":"1m","blast_radius":["cache"]}`
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		r := cli(t, "chaos", "inject", "-f", path, "-addr", s.url, "-token", cliToken)
		if r.code != 0 || !strings.Contains(r.stdout, "injected flaky-db: errors at 0.25 on db (+cache)") {
			t.Fatalf("%v", r)
		}
		if sc, ok := s.eng.Lookup("flaky-db"); !ok || sc.ErrorRate != 0.25 || sc.Duration != time.Minute {
			t.Errorf("scenario %+v", sc)
		}
	})
	t.Run("inject from stdin", func(t *testing.T) {
		r := cliIn(t, context.Background(), strings.NewReader(`{"name":"cut","type":"network_partition","target":"cache"}`),
			"chaos", "inject", "-f", "-", "-json", "-addr", s.url, "-token", cliToken)
		var ans api.Injected
		if err := json.Unmarshal([]byte(r.stdout), &ans); r.code != 0 || err != nil || ans.Scenario.Name != "cut" || !ans.Scenario.Active || len(ans.Warnings) != 0 {
			t.Fatalf("%v %v", err, r)
		}
	})
	t.Run("an unknown target is injected with a warning", func(t *testing.T) {
		r := cli(t, "chaos", "inject", "latency", "-target", "nosuchservice", "-delay", "10ms", "-addr", s.url, "-token", cliToken)
		if r.code != 0 || !strings.Contains(r.stdout, "injected latency_nosuchservice_10ms") ||
			!strings.Contains(r.stdout, `warning: target "nosuchservice" is unknown`) {
			t.Fatalf("%v", r)
		}
		if _, ok := s.eng.Lookup("latency_nosuchservice_10ms"); !ok {
			t.Fatal("not injected")
		}
		if !s.eng.Deactivate("latency_nosuchservice_10ms") {
			t.Fatal("Deactivate")
		}
	})
	t.Run("-strict refuses an unknown target", func(t *testing.T) {
		r := cli(t, "chaos", "inject", "partition", "-target", "nosuchservice", "-strict", "-addr", s.url, "-token", cliToken)
		if r.code != exitRefused || r.err == nil || !strings.Contains(r.err.Error(), `unknown target "nosuchservice"`) {
			t.Fatalf("%v", r)
		}
		if _, ok := s.eng.Lookup("partition_nosuchservice"); ok {
			t.Fatal("injected")
		}
		if r := cli(t, "chaos", "inject", "partition", "-target", "cache", "-strict", "-name", "cut-cache", "-addr", s.url, "-token", cliToken); r.code != 0 || strings.Contains(r.stdout, "warning") {
			t.Fatalf("a known target under -strict: %v", r)
		}
	})
	t.Run("a capped duration says so", func(t *testing.T) {
		r := cli(t, "chaos", "inject", "timeout", "-target", "db", "-for", "10m", "-name", "long", "-addr", s.url, "-token", cliToken)
		if r.code != 0 || !strings.Contains(r.stdout, "warning: duration capped from 10m to 5m") {
			t.Fatalf("%v", r)
		}
		if r := cli(t, "chaos", "-addr", s.url); !strings.Contains(r.stdout, "(capped from 10m to 5m)") {
			t.Fatalf("list: %v", r)
		}
	})
	t.Run("every fault type", func(t *testing.T) {
		for _, args := range [][]string{
			{"error", "-target", "a", "-rate", "0.5", "-message", "boom"},
			{"breaker", "-target", "db", "-name", "db-open"},
			{"partition", "-target", "a", "-blast", "b, c"},
			{"timeout", "-target", "a", "-for", "2s"},
			{"resource", "-target", "a", "-resource", "memory", "-level", "0.001"},
		} {
			r := cli(t, append(append([]string{"chaos", "inject"}, args...), "-addr", s.url, "-token", cliToken)...)
			if r.code != 0 {
				t.Errorf("%v: %v", args, r)
			}
		}
		if b, _ := s.reg.Get("db"); b.State() != breaker.ForcedOpen {
			t.Error("the breaker fault did not force db open")
		}
		if sc, _ := s.eng.Lookup("partition_a"); strings.Join(sc.BlastRadius, ",") != "b,c" {
			t.Errorf("blast radius %v", sc.BlastRadius)
		}
	})
	t.Run("list", func(t *testing.T) {
		r := cli(t, "chaos", "-addr", s.url)
		for _, want := range []string{"NAME", "latency_validator_100ms", "flaky-db", "db-open", "breaker db forced open", "partition_a"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("list lacks %q:\n%s", want, r.stdout)
			}
		}
		r = cli(t, "chaos", "list", "-json", "-addr", s.url)
		var sc api.Scenarios
		if err := json.Unmarshal([]byte(r.stdout), &sc); err != nil || sc.Count != 10 {
			t.Errorf("-json: %v %d %v", err, sc.Count, r)
		}
	})
	t.Run("stop", func(t *testing.T) {
		if r := cli(t, "chaos", "stop", "db-open", "-addr", s.url, "-token", cliToken); r.code != 0 || r.stdout != "stopped db-open\n" {
			t.Errorf("%v", r)
		}
		if b, _ := s.reg.Get("db"); b.State() != breaker.Closed {
			t.Error("db still forced open")
		}
	})
	t.Run("metrics", func(t *testing.T) {
		r := cli(t, "chaos", "metrics", "-addr", s.url)
		if r.code != 0 || !strings.Contains(r.stdout, "scenarios run") || !strings.Contains(squash(r.stdout), "emergency stop no") {
			t.Errorf("%v", r)
		}
	})
	t.Run("emergency stop and reset", func(t *testing.T) {
		if r := cli(t, "chaos", "emergency-stop", "-addr", s.url, "-token", cliToken); r.code != 0 || !strings.Contains(r.stdout, "every scenario ended") {
			t.Fatalf("%v", r)
		}
		if n := len(s.eng.Active()); n != 0 {
			t.Errorf("%d active after the stop", n)
		}
		if r := cli(t, "chaos", "-addr", s.url); !strings.Contains(r.stdout, "EMERGENCY STOP") {
			t.Errorf("list during the stop: %v", r)
		}
		r := cli(t, "chaos", "inject", "timeout", "-target", "a", "-addr", s.url, "-token", cliToken)
		if r.code != exitRefused || !strings.Contains(r.err.Error(), "emergency stop") {
			t.Errorf("inject during the stop: %v", r)
		}
		if r := cli(t, "chaos", "reset", "-json", "-addr", s.url, "-token", cliToken); r.code != 0 || !strings.Contains(r.stdout, `"emergency_stop": false`) {
			t.Errorf("reset: %v", r)
		}
		if r := cli(t, "chaos", "inject", "timeout", "-target", "a", "-addr", s.url, "-token", cliToken); r.code != 0 {
			t.Errorf("inject after reset: %v", r)
		}
	})
}

func TestRun_Metering(t *testing.T) {
	s := startOpsServer(t)
	if r := cli(t, "metering", "-addr", s.url); r.code != 0 || !strings.Contains(r.stdout, "no usage recorded") {
		t.Errorf("empty: %v", r)
	}
	s.meter.Record(metering.Event{Tenant: "acme", Tokens: 42, Latency: 2 * time.Millisecond, Compliance: 1})
	s.meter.Record(metering.Event{Tenant: "acme", Tokens: 8, Latency: 4 * time.Millisecond, Compliance: 1, Outcome: metering.OutcomeError})
	if err := s.meter.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "metering", "-addr", s.url)
	if r.code != 0 || !strings.Contains(r.stdout, "meter not running: 2 queued, 2 delivered, 0 dropped") {
		t.Fatalf("%v", r)
	}
	var acme string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "acme") {
			acme = strings.Join(strings.Fields(l), " ")
		}
	}
	if acme != "acme 2 50 1 0 0 3ms 4ms 1.000" {
		t.Errorf("acme line %q in\n%s", acme, r.stdout)
	}
	r = cli(t, "metering", "-json", "-addr", s.url)
	var m api.Metering
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || len(m.Usage) != 1 || m.Usage[0].Tokens != 50 {
		t.Errorf("-json: %v %v", err, r)
	}
}

func TestRun_Version(t *testing.T) {
	s := startOpsServer(t)
	r := cli(t, "version", "-addr", s.url)
	want := fmt.Sprintf("antifragile %s (constitutional hash %s, ", antifragile.Version, antifragile.ConstitutionalHash)
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "server "+s.url+": antifragile "+antifragile.Version) {
		t.Errorf("%v", r)
	}
	if r := cli(t, "--version", "-local"); r.code != 0 || strings.Contains(r.stdout, "server") {
		t.Errorf("-local: %v", r)
	}
	// Against a server whose GET / is the dashboard (serve and demo are),
	// and against one that is gone.
	sys := opstest.New(t, cliToken)
	opts := sys.Options
	opts.Dashboard = dashboard.Handler()
	withPage := httptest.NewServer(ops.Handler(opts))
	t.Cleanup(withPage.Close)
	if r := cli(t, "version", "-addr", withPage.URL); r.code != 0 || !strings.Contains(r.stdout, "server "+withPage.URL+": antifragile "+antifragile.Version) {
		t.Errorf("against a server with the dashboard: %v", r)
	}
	if r := cli(t, "version", "-addr", deadAddr(t)); r.code != exitUnreachable || !strings.Contains(r.stdout, "server ") {
		t.Errorf("against an unreachable server: %v", r)
	}
	r = cli(t, "version", "-json", "-addr", s.url)
	var v versionInfo
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Version != antifragile.Version || v.Server == nil || v.Server.ConstitutionalHash != antifragile.ConstitutionalHash {
		t.Errorf("-json: %v %v", err, r)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{usageErrorf("bad"), 2},
		{fmt.Errorf("wrapped: %w", usageErrorf("bad")), 2},
		{&client.APIError{Status: 409}, 3},
		{fmt.Errorf("%w: dial", client.ErrUnreachable), 4},
		{client.ErrStreamEnded, 4},
		{&exitError{code: 7, err: errors.New("x")}, 7},
		{context.Canceled, 1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// squash collapses runs of blanks, so that tests need not know column widths.
func squash(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

// TestRun_CACert: -cacert (or $ANTIFRAGILE_CACERT) makes the CLI trust a
// server's self-signed certificate, as ops.tls_cert_file serves it.
func TestRun_CACert(t *testing.T) {
	sys := opstest.New(t, cliToken)
	srv := httptest.NewUnstartedServer(ops.Handler(sys.Options))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "breakers", "-addr", srv.URL); r.code == 0 {
		t.Fatalf("an unknown certificate was trusted: %v", r)
	}
	if r := cli(t, "breakers", "-addr", srv.URL, "-cacert", file); r.code != 0 {
		t.Fatalf("with -cacert: %v", r)
	}
	if r := cli(t, "breakers", "-addr", srv.URL, "-cacert", filepath.Join(t.TempDir(), "missing.pem")); r.code != 2 || !strings.Contains(errString(r.err), "-cacert") {
		t.Fatalf("a missing -cacert file: %v", r)
	}
}

func TestIssue13_OversizedScenarioFileIsUsageError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	valid := `{"name":"x","phases":[{"name":"a","duration":"1s"}]}`
	if err := os.WriteFile(path, []byte(valid+strings.Repeat(" ", 5<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"gameday", "-f", path}, {"demo", "-scenario", path}} {
		var out, errb strings.Builder
		err := run(t.Context(), args, strings.NewReader(""), &out, &errb)
		if !errors.Is(err, antifragile.ErrTooLarge) || exitCode(err) != exitUsage {
			t.Errorf("%q: err = %v (exit %d), want ErrTooLarge with exit %d", args, err, exitCode(err), exitUsage)
		}
	}
}
