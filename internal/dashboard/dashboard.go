package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/antifragile-go/antifragile/api"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is the Content-Security-Policy header sent with
// every response of Handler: resources only from the page's own origin, no
// inline script or style, no plugins, no framing, and no <base> override.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// contentType returns the type of an embedded file from its extension. The
// types are fixed here so that they never depend on the host's MIME
// database.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// handler serves the embedded assets of one Handler call.
type handler struct {
	assets map[string]asset // by URL path ("/", "/app.js", …); read-only
}

// Handler returns an http.Handler serving the dashboard: the page at "/"
// (and "/index.html") and its assets ("/app.js", "/app.css",
// "/favicon.svg"). The page calls the ops API with URLs relative to itself,
// so Handler must be mounted at the directory where the API is mounted —
// ops.Handler does this; under a prefix use http.StripPrefix.
//
// Every response carries ContentSecurityPolicy, X-Content-Type-Options:
// nosniff, Referrer-Policy: no-referrer and Cache-Control: no-cache (with a
// strong ETag, so a revalidation costs a 304). Only GET and HEAD are
// allowed (405 otherwise); unknown paths get 404. A request whose path was
// stripped to "" (the prefix itself, without its trailing slash) is
// redirected to the prefix with a slash, so that relative URLs resolve.
//
// The returned handler holds no mutable state and is safe for concurrent
// use; each call builds a new one from the embedded files.
func Handler() http.Handler {
	h := &handler{assets: make(map[string]asset)}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := asset{
			body:  body,
			ctype: contentType(p),
			etag:  `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		}
		name := strings.TrimPrefix(p, "static")
		h.assets[name] = a
		if name == "/index.html" {
			h.assets["/"] = a
		}
		return nil
	})
	if err != nil {
		// The files are embedded at build time; reading them cannot fail.
		panic("dashboard: reading embedded assets: " + err.Error())
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		fail(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if r.URL.Path == "" {
		// Mounted with http.StripPrefix("/ops", …) and asked for "/ops":
		// send the browser to "/ops/" so that relative URLs resolve
		// under the prefix. RequestURI is the path as the client sent it.
		target, _, _ := strings.Cut(r.RequestURI, "?")
		if target == "" || strings.Contains(target, "//") || !strings.HasPrefix(target, "/") {
			target = "/"
		} else {
			target += "/"
		}
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	a, ok := h.assets[r.URL.Path]
	if !ok {
		fail(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
		return
	}
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", a.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
}

// etagMatch reports whether the If-None-Match header value lists etag (or
// is "*"), comparing weakly as RFC 9110 asks for If-None-Match.
func etagMatch(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// fail writes the ops API's JSON error envelope, as every error of the
// server is written.
func fail(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(api.ErrorEnvelope{Error: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
