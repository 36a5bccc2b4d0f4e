package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Binary is the name of the browser program Start looks up on PATH.
const Binary = "chromium"

// ArtifactsEnv names the environment variable of a directory where
// Screenshot also writes its files, so that CI can keep them.
const ArtifactsEnv = "ANTIFRAGILE_ARTIFACTS"

// Flags are the command-line switches Start gives the browser, besides
// those chromedp itself needs (the DevTools pipe and the temporary
// --user-data-dir it creates for every browser and removes afterwards).
func Flags() []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-sync",
	}
}

// Config tunes Start. The zero value is a 1280×800 viewport that fails the
// test on any console error of the page.
type Config struct {
	// Width and Height are the viewport in CSS pixels. 0 means 1280 and 800.
	Width, Height int
	// StartTimeout bounds how long the browser may take to start and open
	// its first tab. 0 means 30 s.
	StartTimeout time.Duration
	// AllowConsoleErrors turns off the check that fails the test when the
	// page logged an error or threw an uncaught exception (Content-Security-
	// Policy violations and failed requests are console errors too). The
	// messages are logged either way.
	AllowConsoleErrors bool
	// ExpectConsole, if set, names the console errors a test provokes on
	// purpose (such as the browser's "Failed to load resource … 403" line
	// for a request meant to be refused): messages it matches are logged
	// but do not fail the test. nil expects none.
	ExpectConsole *regexp.Regexp
}

// Start starts a headless Chromium for t and returns the chromedp context of
// its first tab, already open with the configured viewport. Use the context
// with chromedp.Do and chromedp.Run; derive timeouts from it with
// context.WithTimeout (the browser lives as long as the test).
//
// Start calls t.Skip when chromium is not on PATH — or t.Fatal when the CI
// environment variable is set, since CI installs chromium and a browser
// test that silently skips there hides a broken setup — and t.Fatal when
// the browser does not start. At the end of the test (t.Cleanup) it reports the
// page's console errors (see Config.AllowConsoleErrors), closes the browser,
// waits for its processes to exit, and removes its profile. It must be
// called from the test's goroutine.
func Start(t testing.TB, cfg Config) context.Context {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		missing(t, err)
	}
	cfg = cfg.withDefaults()
	ctx, cancel, allocCancel := newBrowser(t, bin)
	if err := startBrowser(ctx, cancel, cfg); err != nil {
		cancel()
		allocCancel()
		t.Fatalf("browsertest: start %s: %v", bin, err)
	}
	con, err := watchConsole(ctx)
	if err != nil {
		cancel()
		allocCancel()
		t.Fatalf("browsertest: watch the console: %v", err)
	}
	t.Cleanup(func() {
		checkConsole(t, cfg, con.stop())
		// Close the browser gracefully, bounded, then kill what is left and
		// wait for every process and goroutine of the allocator.
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("browsertest: closing the browser: %v", err)
		}
		ccancel()
		cancel()
		allocCancel()
	})
	return ctx
}

// missing ends the test of a browser not found: a skip saying how to
// install it, or a failure when the CI environment variable is set.
func missing(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("browsertest: %s not found on PATH (%v); install it (apt-get install chromium) to run this test", Binary, err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " — CI is set, so a missing browser is a failure, not a skip")
	}
	t.Skip(msg)
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Width <= 0 {
		c.Width = 1280
	}
	if c.Height <= 0 {
		c.Height = 800
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 30 * time.Second
	}
	return c
}

// newBrowser returns the chromedp context of the first tab of a browser
// running bin with Flags, not started yet, with the cancel functions of the
// tab and of the allocator; cancel the tab first.
func newBrowser(t testing.TB, bin string) (ctx context.Context, cancel, allocCancel context.CancelFunc) {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin)}
	for _, f := range Flags() {
		opts = append(opts, chromedp.Flag(strings.TrimPrefix(f, "--"), true))
	}
	// No UserDataDir option: chromedp then creates a fresh temporary profile
	// directory for this browser, and after the browser exits it kills any
	// leftover child process that still uses it and removes it.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel = chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		t.Logf("browsertest: chromedp: "+format, args...)
	}))
	return ctx, cancel, allocCancel
}

// startBrowser starts the browser of the tab ctx by setting the viewport,
// waiting at most cfg.StartTimeout; past it, it cancels the tab and waits
// for the start to give up.
func startBrowser(ctx context.Context, cancel context.CancelFunc, cfg Config) error {
	// The first action starts the browser and binds its life to ctx; only
	// the wait is bounded by the start timeout.
	started := make(chan error, 1)
	go func() {
		started <- chromedp.Do(ctx, chromedp.EmulateViewport(int64(cfg.Width), int64(cfg.Height)))
	}()
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case err := <-started:
		return err
	case <-timer.C:
		cancel()
		<-started
		return fmt.Errorf("not started after %v", cfg.StartTimeout)
	}
}

// checkConsole logs the console messages msgs and, unless
// cfg.AllowConsoleErrors, fails the test for each error or exception that
// cfg.ExpectConsole does not match.
func checkConsole(t testing.TB, cfg Config, msgs []consoleMessage) {
	for _, m := range msgs {
		t.Logf("browsertest: console %s", m)
	}
	if cfg.AllowConsoleErrors {
		return
	}
	for _, m := range msgs {
		if m.level != "warning" && (cfg.ExpectConsole == nil || !cfg.ExpectConsole.MatchString(m.text)) {
			t.Errorf("browsertest: the page logged %s", m)
		}
	}
}

// consoleMessage is a warning, error or uncaught exception of the page.
type consoleMessage struct {
	level string // "error", "warning" or "exception"
	text  string
	where string // URL:line, when known
}

func (m consoleMessage) String() string {
	s := m.level + ": " + m.text
	if m.where != "" {
		s += " (at " + m.where + ")"
	}
	return s
}

// console collects the warnings, errors and exceptions of one tab.
type console struct {
	cancel context.CancelFunc

	mu   sync.Mutex
	msgs []consoleMessage // guarded by mu
}

// watchConsole starts collecting the warnings, errors and exceptions of the
// tab of ctx, which must already have run an action. It uses
// chromedp.Listen, whose callback sees every event before the reply to any
// later command: a message the page logged before an action returned is
// collected by the time the action returns.
func watchConsole(ctx context.Context) (*console, error) {
	cctx, cancel := context.WithCancel(ctx)
	c := &console{cancel: cancel}
	err := chromedp.Listen(cctx, func(ev any) {
		m, ok := consoleMessageOf(ev)
		if !ok {
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
	})
	if err != nil {
		cancel()
		return nil, err
	}
	return c, nil
}

// consoleMessageOf returns the console message of the DevTools event ev:
// a console.error, console.assert or console.warn call, an uncaught
// exception, or a log entry of level error or warning. ok is false for
// any other event.
func consoleMessageOf(ev any) (m consoleMessage, ok bool) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		return consoleCall(e)
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		if d == nil {
			return m, false
		}
		m.level, m.text = "exception", d.Text
		if d.Exception != nil {
			desc, _, _ := strings.Cut(remoteText(d.Exception), "\n")
			m.text += " " + desc
		}
		if d.URL != "" {
			m.where = fmt.Sprintf("%s:%d", d.URL, d.LineNumber+1)
		}
		return m, true
	case *log.EventEntryAdded:
		en := e.Entry
		if en == nil || (en.Level != log.EntryLevelError && en.Level != log.EntryLevelWarning) {
			return m, false
		}
		m.level, m.text = string(en.Level), en.Text
		if en.URL != "" {
			m.where = fmt.Sprintf("%s:%d", en.URL, en.LineNumber+1)
		}
		return m, true
	}
	return m, false
}

// consoleCall returns the message of a console.error, console.assert
// (both errors) or console.warn call; ok is false for the other calls.
func consoleCall(e *runtime.EventConsoleAPICalled) (m consoleMessage, ok bool) {
	switch e.Type {
	case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeAssert:
		m.level = "error"
	case runtime.ConsoleAPICalledTypeWarning:
		m.level = "warning"
	default:
		return m, false
	}
	parts := make([]string, 0, len(e.Args))
	for _, a := range e.Args {
		parts = append(parts, remoteText(a))
	}
	m.text = strings.Join(parts, " ")
	if st := e.StackTrace; st != nil && len(st.CallFrames) > 0 {
		f := st.CallFrames[0]
		m.where = fmt.Sprintf("%s:%d", f.URL, f.LineNumber+1)
	}
	return m, true
}

// remoteText renders a console argument: a string as it is, another
// primitive as its JSON, an object by its description.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
		return string(o.Value)
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	return o.Description
}

// stop ends the collection and returns the messages collected.
func (c *console) stop() []consoleMessage {
	c.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// Screenshot captures the whole page of the tab of ctx (beyond the viewport
// too) as a PNG named name in t.TempDir(), logs its path, and also writes it
// to the directory named by $ANTIFRAGILE_ARTIFACTS when that is set (created
// if needed; the file name is prefixed with the test's name). It returns the
// path in the temporary directory. A failure fails the test but does not
// stop it.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	return capture(t, ctx, name, chromedp.FullScreenshot(100))
}

// ScreenshotViewport is Screenshot limited to the visible viewport.
func ScreenshotViewport(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	return capture(t, ctx, name, chromedp.CaptureScreenshot())
}

func capture(t testing.TB, ctx context.Context, name string, shot chromedp.Action[[]byte]) string {
	t.Helper()
	if filepath.Ext(name) == "" {
		name += ".png"
	}
	name = filepath.Base(name)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, shot)
	if err != nil {
		t.Errorf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Errorf("browsertest: screenshot: %v", err)
		return ""
	}
	t.Logf("browsertest: screenshot %s", path)
	if dir := os.Getenv(ArtifactsEnv); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Errorf("browsertest: %s: %v", ArtifactsEnv, err)
			return path
		}
		art := filepath.Join(dir, artifactName(t.Name())+"-"+name)
		if err := os.WriteFile(art, buf, 0o644); err != nil {
			t.Errorf("browsertest: %s: %v", ArtifactsEnv, err)
			return path
		}
		t.Logf("browsertest: artifact %s", art)
	}
	return path
}

// artifactName turns a test name into a file name.
func artifactName(test string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, test)
}
