// Command antifragile runs and operates an antifragile system: circuit
// breakers, health aggregation, recovery, chaos engineering, metering and
// the agent bus.
//
// Usage:
//
//	antifragile <command> [flags] [arguments]
//
// The remote commands (health, breakers, breaker, recovery, chaos,
// metering, version) talk to a running daemon's ops API at -addr (default
// http://127.0.0.1:8080, or $ANTIFRAGILE_ADDR) with the bearer token of
// -token (or $ANTIFRAGILE_TOKEN); -json prints JSON for scripts. Run
// `antifragile help` for the list of commands and `antifragile <command> -h`
// for one command's flags.
//
// Exit codes: 0 success, 1 failure, 2 usage error, 3 request refused by
// the server, 4 server unreachable.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/client"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitRefused     = 3
	exitUnreachable = 4
)

// Defaults of the remote flags.
const (
	defaultAddr = "http://127.0.0.1:8080"
	envAddr     = "ANTIFRAGILE_ADDR"
	envToken    = "ANTIFRAGILE_TOKEN"
	envCACert   = "ANTIFRAGILE_CACERT"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, errorMessage(err))
	}
	os.Exit(exitCode(err))
}

// errorMessage is what main prints for run's error: the error, and a hint
// for the mistakes people make most (no daemon, no token).
func errorMessage(err error) string {
	msg := "antifragile: " + err.Error()
	switch {
	case exitCode(err) == exitUnreachable:
		msg += "\nhint: is the daemon running ('antifragile serve')? Point -addr or $" + envAddr + " at it."
	case errors.Is(err, client.ErrUnauthorized):
		msg += "\nhint: this command needs the daemon's token: -token or $" + envToken + "."
	case errors.Is(err, client.ErrForbidden):
		msg += "\nhint: the daemon refused the token (or has no token configured, which disables writes)."
	}
	return msg
}

// command is one subcommand: its name, a one-line summary for the command
// list, and its function, which gets the arguments after the name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// commands returns the subcommands in the order `antifragile help` lists
// them.
func commands() []command {
	return []command{
		// Local commands.
		{"serve", "run the daemon: every component and the ops API", runServe},
		{"demo", "run a self-contained demonstration: a game day with the live dashboard", runDemo},
		{"gameday", "run a chaos game day against a running ops API and write its report", runGameday},
		{"tune", "search better breaker and recovery settings by re-running a seeded game day", runTune},

		// Remote commands: they talk to a daemon's ops API through package client.
		{"health", "show the health report; -watch follows its changes", runHealth},
		{"breakers", "list the circuit breakers", runBreakers},
		{"breaker", "reset, force open or release a breaker", runBreaker},
		{"recovery", "show, schedule, resume, resolve or cancel recoveries", runRecovery},
		{"chaos", "list, inject or stop chaos scenarios; emergency stop", runChaos},
		{"metering", "show the meter's counters and the usage per tenant", runMetering},
		{"cluster", "cluster mode: the cluster view, the cluster-wide emergency stop, fleet chaos", runCluster},
		{"reload", "re-read the server's configuration and apply what can change live", runReload},
		{"version", "print the version of this binary and of the server", runVersion},
	}
}

// run runs the command named by args[0] with the rest of args. It never
// exits: main turns its error into the exit code (see exitCode).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 {
		printCommands(stderr, cmds)
		return usageErrorf("no command given: run 'antifragile help' for the list")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stderr)
		}
		printCommands(stdout, cmds)
		return nil
	case "-version", "--version":
		name = "version"
	case demoAgentsCommand: // hidden: an agent process of demo -processes
		return runDemoAgents(ctx, args[1:], stdin, stdout, stderr)
	}
	for _, c := range cmds {
		if c.name == name {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if s := suggest(name, cmds); s != "" {
		msg += fmt.Sprintf(": did you mean %q?", s)
	}
	return usageErrorf("%s (run 'antifragile help' for the list)", msg)
}

func printCommands(w io.Writer, cmds []command) {
	fmt.Fprint(w, "usage: antifragile <command> [flags] [arguments]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprint(w, `
Remote commands reach the ops API at -addr (default `+defaultAddr+`, or $`+envAddr+`)
with the bearer token of -token (or $`+envToken+`); -json prints JSON.
Run 'antifragile <command> -h' for a command's flags.

Exit codes: 0 ok, 1 failure, 2 usage error, 3 refused by the server, 4 server unreachable.
`)
}

// suggest returns the command name closest to name, if one is close.
func suggest(name string, cmds []command) string {
	best, bestD := "", 3
	for _, c := range cmds {
		if d := editDistance(name, c.name); d < bestD || (strings.HasPrefix(c.name, name) && len(name) >= 3) {
			best, bestD = c.name, min(d, bestD)
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// exitError is an error that carries its exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode returns the exit code main exits with.
func (e *exitError) ExitCode() int { return e.code }

// usageErrorf returns a usage error (exit code 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode maps run's error to the process exit code: 0 for nil; the code
// of an error with an ExitCode method (usage errors: 2); 3 for a request
// the server refused (*client.APIError); 4 for a server that cannot be
// reached; 1 for anything else.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return exitRefused
	}
	if errors.Is(err, client.ErrUnreachable) || errors.Is(err, client.ErrStreamEnded) {
		return exitUnreachable
	}
	return exitFailure
}

// errHelp is returned by parseFlags for -h: the command printed its usage
// and succeeds.
var errHelp = flag.ErrHelp

// newFlagSet returns a flag set for a command whose -h prints usage (a
// usage line and a description) and its flags to help (stdout: help is
// output, not an error).
func newFlagSet(name, usage string, help io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(help)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), strings.TrimLeft(usage, "\n"))
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprint(fs.Output(), "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args with fs, allowing flags after the positional
// arguments (`breaker reset db -token x`), and returns the positional
// arguments. "--" ends the flags. -h prints the usage and is errHelp; a bad
// flag is a usage error of one line with a hint (the usage is not
// printed: -h shows it).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage; fs.SetOutput(out) }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				usage()
				return nil, errHelp
			}
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: %s", fs.Name(), flagProblem(fs, err))}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

var (
	badFlagValue = regexp.MustCompile(`^invalid value "(.*)" for flag -([^:]+): (.*)$`)
	unknownFlag  = regexp.MustCompile(`^flag provided but not defined: -(.+)$`)
)

// flagProblem rewrites a flag package error as one line that says what a
// good value looks like, or which flag was meant.
func flagProblem(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		value, name := m[1], m[2]
		f := fs.Lookup(name)
		if f == nil {
			return msg
		}
		var want string
		switch g, _ := f.Value.(flag.Getter); {
		case g == nil:
			want = m[3]
		default:
			switch g.Get().(type) {
			case time.Duration:
				want = "want a duration with a unit, such as 50ms, 2s or 5m"
			case int, int64, uint, uint64:
				want = "want a whole number"
			case float64:
				want = "want a number, such as 0.5"
			case bool:
				want = "want true or false"
			default:
				want = m[3]
			}
		}
		return fmt.Sprintf("-%s %s: %s", name, value, want)
	}
	if m := unknownFlag.FindStringSubmatch(msg); m != nil {
		best, bestD := "", 3
		fs.VisitAll(func(f *flag.Flag) {
			if d := editDistance(m[1], f.Name); d < bestD {
				best, bestD = f.Name, d
			}
		})
		hint := "run 'antifragile " + fs.Name() + " -h' for its flags"
		if best != "" {
			hint = "did you mean -" + best + "? (" + hint + ")"
		}
		return fmt.Sprintf("unknown flag -%s: %s", m[1], hint)
	}
	return msg
}

// helpOK turns errHelp into success.
func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// remoteFlags are the flags every remote command has.
type remoteFlags struct {
	addr    string
	token   string
	caCert  string
	json    bool
	timeout time.Duration
}

// register adds -addr, -token, -json and -timeout to fs. The token's
// environment variable is read when the client is made, so that -h never
// prints it.
func (r *remoteFlags) register(fs *flag.FlagSet) {
	addr := os.Getenv(envAddr)
	if addr == "" {
		addr = defaultAddr
	}
	fs.StringVar(&r.addr, "addr", addr, "ops API `URL` (env "+envAddr+")")
	fs.StringVar(&r.token, "token", "", "bearer `token` of the write routes (env "+envToken+")")
	fs.StringVar(&r.caCert, "cacert", os.Getenv(envCACert), "PEM `file` of the certificate(s) to trust for an https -addr, such as a self-signed ops.tls_cert_file (env "+envCACert+")")
	fs.BoolVar(&r.json, "json", false, "print JSON instead of text")
	fs.DurationVar(&r.timeout, "timeout", 30*time.Second, "request `timeout`")
}

// client returns a client of the API at -addr. An -addr without a scheme
// gets "http://". A malformed -addr is a usage error.
func (r *remoteFlags) client() (*client.Client, error) {
	addr := strings.TrimSpace(r.addr)
	if addr != "" && !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	token := r.token
	if token == "" {
		token = os.Getenv(envToken)
	}
	timeout := r.timeout
	if timeout <= 0 {
		timeout = -1
	}
	cfg := client.Config{BaseURL: addr, Token: token, Timeout: timeout}
	if r.caCert != "" {
		hc, err := trustingClient(r.caCert)
		if err != nil {
			return nil, usageErrorf("-cacert %q: %v", r.caCert, err)
		}
		cfg.HTTPClient = hc
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, usageErrorf("-addr %q: want a URL such as %s", r.addr, defaultAddr)
	}
	return c, nil
}

// trustingClient returns an HTTP client that trusts the certificates of
// the PEM file at path (besides the system's).
func trustingClient(path string) (*http.Client, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in the file")
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t}, nil
}

// needArgs checks the number of positional arguments of a command whose
// usage line is usage.
func needArgs(pos []string, n int, usage string) error {
	if len(pos) < n {
		return usageErrorf("missing argument: usage: %s", usage)
	}
	if len(pos) > n {
		return usageErrorf("unexpected argument %q: usage: %s", pos[n], usage)
	}
	return nil
}

// splitAction returns the action a command's arguments start with, the
// first argument when it is not a flag, or dflt, and the arguments after
// the action.
func splitAction(args []string, dflt string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return dflt, args
}

// output writes v to w: as indented JSON when asJSON (-json), else as text
// by show.
func output[T any](w io.Writer, asJSON bool, v T, show func(io.Writer, T)) error {
	if asJSON {
		return writeJSON(w, v)
	}
	show(w, v)
	return nil
}

// oneOf reports whether s is in list.
func oneOf(s string, list ...string) bool { return slices.Contains(list, s) }

// table returns a tabwriter for aligned columns.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago formats t relative to now ("3m20s ago", "in 5s"), or "-" for the
// zero time.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}

// flagNames rewrites the validation errors joined in err as one line that
// names flags instead of JSON fields (fields maps one to the other); other
// errors keep their message.
func flagNames(err error, fields map[string]string) string {
	var parts []string
	for _, e := range antifragile.Leaves(err) {
		var ve *antifragile.ValidationError
		if !errors.As(e, &ve) {
			parts = append(parts, e.Error())
			continue
		}
		name, ok := fields[ve.Field]
		if !ok {
			name = ve.Field
		}
		if ve.Value == nil {
			parts = append(parts, fmt.Sprintf("%s: %v", name, ve.Err))
		} else {
			parts = append(parts, fmt.Sprintf("%s %v: %v", name, ve.Value, ve.Err))
		}
	}
	return strings.Join(parts, "; ")
}

// isFlagSet reports whether the flag named name was given.
func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
