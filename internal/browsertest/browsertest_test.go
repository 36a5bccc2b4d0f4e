package browsertest_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/antifragile-go/antifragile/internal/browsertest"
)

const page = `<!doctype html><html><head><title>browsertest</title></head>
<body><h1 id="hello">hello</h1><button id="b">click</button><p id="out"></p>
<script src="app.js"></script></body></html>`

const script = `document.getElementById('b').addEventListener('click', () => {
  if (location.hash === '#fail') console.error('boom', 42);
  document.getElementById('out').textContent = 'clicked ' + innerWidth + 'x' + innerHeight;
});`

func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, script)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func wait(t *testing.T, ctx context.Context, d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(wctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func TestStart(t *testing.T) {
	t.Run("drives a page at the configured viewport and saves a screenshot", func(t *testing.T) {
		srv := server(t)
		art := t.TempDir()
		t.Setenv(browsertest.ArtifactsEnv, art)
		ctx := browsertest.Start(t, browsertest.Config{Width: 1024, Height: 700})
		wait(t, ctx, 10*time.Second,
			chromedp.Navigate(srv.URL),
			chromedp.WaitVisible(chromedp.ID("hello")),
			chromedp.Click(chromedp.ID("b")),
		)
		out, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("out")))
		if err != nil {
			t.Fatal(err)
		}
		if out != "clicked 1024x700" {
			t.Errorf("page says %q, want %q", out, "clicked 1024x700")
		}
		path := browsertest.Screenshot(t, ctx, "page")
		if filepath.Base(path) != "page.png" {
			t.Errorf("screenshot path %q, want a page.png", path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Error("screenshot is not a PNG")
		}
		copied, err := os.ReadFile(filepath.Join(art, "TestStart_drives_a_page_at_the_configured_viewport_and_saves_a_screenshot-page.png"))
		if err != nil || !bytes.Equal(copied, b) {
			t.Errorf("artifact copy missing or different: %v", err)
		}
		if vp := browsertest.ScreenshotViewport(t, ctx, "viewport.png"); vp == "" {
			t.Error("no viewport screenshot")
		}
	})

	t.Run("starts chromium with the listed flags", func(t *testing.T) {
		ctx := browsertest.Start(t, browsertest.Config{})
		wait(t, ctx, 10*time.Second, chromedp.Navigate("chrome://version"), chromedp.WaitVisible(chromedp.ID("command_line")))
		cmd, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("command_line")))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range browsertest.Flags() {
			if !strings.Contains(cmd+" ", f+" ") {
				t.Errorf("command line lacks %s: %s", f, cmd)
			}
		}
		if !strings.Contains(cmd, "--user-data-dir=") {
			t.Errorf("command line has no --user-data-dir: %s", cmd)
		}
	})

	t.Run("gives every browser its own profile", func(t *testing.T) {
		srv := server(t)
		set := func(ctx context.Context) {
			wait(t, ctx, 10*time.Second, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.ID("hello")),
				chromedp.Evaluate[chromedp.Void](`localStorage.setItem('k', 'v')`))
		}
		get := func(ctx context.Context) string {
			wait(t, ctx, 10*time.Second, chromedp.Navigate(srv.URL), chromedp.WaitVisible(chromedp.ID("hello")))
			v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`localStorage.getItem('k') || ''`))
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		set(browsertest.Start(t, browsertest.Config{}))
		if v := get(browsertest.Start(t, browsertest.Config{})); v != "" {
			t.Errorf("second browser sees the first one's storage: %q", v)
		}
	})

	t.Run("fails the test when the page logs an error", func(t *testing.T) {
		srv := server(t)
		rec := &recorder{TB: t}
		ctx := browsertest.Start(rec, browsertest.Config{})
		wait(t, ctx, 10*time.Second,
			chromedp.Navigate(srv.URL+"/#fail"),
			chromedp.WaitVisible(chromedp.ID("hello")),
			chromedp.Click(chromedp.ID("b")),
			chromedp.WaitVisible(`//p[@id="out"][normalize-space(text())!=""]`),
		)
		rec.runCleanups()
		if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "error: boom 42") {
			t.Errorf("reported %q, want one error about boom", errs)
		}
	})

	t.Run("lets a test expect the errors it provokes", func(t *testing.T) {
		srv := server(t)
		rec := &recorder{TB: t}
		ctx := browsertest.Start(rec, browsertest.Config{ExpectConsole: regexp.MustCompile(`^boom`)})
		wait(t, ctx, 10*time.Second,
			chromedp.Navigate(srv.URL+"/#fail"),
			chromedp.WaitVisible(chromedp.ID("hello")),
			chromedp.Click(chromedp.ID("b")),
			chromedp.WaitVisible(`//p[@id="out"][normalize-space(text())!=""]`),
		)
		rec.runCleanups()
		if errs := rec.errors(); len(errs) != 0 {
			t.Errorf("reported %q, want nothing", errs)
		}
	})
}

// recorder is a testing.TB whose Errorf is recorded and whose cleanups run
// when the test says so.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) runCleanups() {
	r.mu.Lock()
	fs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// TestStart_noBrowser runs Start with an empty PATH: it skips the test, or
// fails it when CI is set.
func TestStart_noBrowser(t *testing.T) {
	for _, tt := range []struct {
		name, ci string
		fatal    bool
	}{
		{"skips when chromium is missing outside CI", "", false},
		{"fails when chromium is missing and CI is set", "true", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("CI", tt.ci)
			rec := &ender{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				browsertest.Start(rec, browsertest.Config{})
				rec.mu.Lock()
				rec.returned = true
				rec.mu.Unlock()
			}()
			<-done
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.returned {
				t.Fatal("Start returned without a browser")
			}
			if tt.fatal && (rec.fatal == "" || rec.skip != "") {
				t.Errorf("fatal %q, skip %q: want a failure", rec.fatal, rec.skip)
			}
			if !tt.fatal && (rec.skip == "" || rec.fatal != "") {
				t.Errorf("fatal %q, skip %q: want a skip", rec.fatal, rec.skip)
			}
			if msg := rec.fatal + rec.skip; !strings.Contains(msg, "apt-get install chromium") {
				t.Errorf("message %q does not say how to install chromium", msg)
			}
		})
	}
}

// ender is a testing.TB whose Fatal and Skip are recorded and end the
// calling goroutine, as the real ones do.
type ender struct {
	testing.TB
	mu          sync.Mutex
	fatal, skip string
	returned    bool
}

func (e *ender) Helper() {}

func (e *ender) Fatal(args ...any) {
	e.mu.Lock()
	e.fatal = fmt.Sprint(args...)
	e.mu.Unlock()
	runtime.Goexit()
}

func (e *ender) Skip(args ...any) {
	e.mu.Lock()
	e.skip = fmt.Sprint(args...)
	e.mu.Unlock()
	runtime.Goexit()
}
