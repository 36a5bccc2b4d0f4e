package antifragile_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/antifragile-go/antifragile"

// layers says which packages of this module each package may import
// (directly or not). Imports point down only: the root, backoff and api at
// the bottom; breaker; then the domain packages; adapters and cmd on top.
// A package missing from this table may import anything of ours, but no
// package listed here may import a third-party module unless it is an
// adapter listed in thirdParty.
var layers = map[string][]string{
	"":                {},
	"backoff":         {},
	"api":             {"", "breaker", "health", "recovery", "chaos", "metering", "backoff"},
	"breaker":         {""},
	"health":          {"", "breaker"},
	"recovery":        {"", "breaker", "backoff"},
	"chaos":           {"", "breaker"},
	"metering":        {""},
	"bus":             {"", "breaker", "chaos", "metering", "backoff"},
	"chaos/chaostest": {"", "breaker", "chaos"},

	"breaker/breakerhttp": {"", "breaker"},
}

// thirdParty lists the packages allowed to import modules outside the
// standard library and this module.
var thirdParty = map[string]bool{
	"metering/redis":       true,
	"ops":                  true,
	"internal/redistest":   true,
	"internal/browsertest": true,
	"internal/daemon":      true,
	"cmd/antifragile":      true,
}

// forbiddenForDomain are packages no domain package may import.
var forbiddenForDomain = []string{"ops", "client", "internal/daemon", "cmd/antifragile", "chaos/chaoshttp", "breaker/breakerhttp", "metering/redis"}

type listedPackage struct {
	ImportPath string
	Deps       []string
	Standard   bool
}

func TestImportDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-e", "-deps=false", "-json=ImportPath,Deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allowed, layered := layers[rel]
		seen++
		for _, dep := range p.Deps {
			ours := dep == module || strings.HasPrefix(dep, module+"/")
			if !ours {
				if isStandard(dep) || thirdParty[rel] || !layered {
					continue
				}
				t.Errorf("%s imports third-party %s", p.ImportPath, dep)
				continue
			}
			depRel := strings.TrimPrefix(strings.TrimPrefix(dep, module), "/")
			if !layered {
				continue
			}
			for _, f := range forbiddenForDomain {
				if depRel == f || strings.HasPrefix(depRel, f+"/") {
					t.Errorf("domain package %s imports %s", p.ImportPath, dep)
				}
			}
			ok := false
			for _, a := range allowed {
				if depRel == a {
					ok = true
				}
			}
			if !ok && !strings.HasPrefix(depRel, "internal/") {
				t.Errorf("%s may not import %s (allowed: %q)", p.ImportPath, dep, allowed)
			}
		}
	}
	if seen == 0 {
		t.Fatal("go list found no packages")
	}
}

// isStandard reports whether an import path is in the standard library: its
// first element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
