package antifragile_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/antifragile-go/antifragile"

// layers gives every package of this module its layer. A package may import
// packages of this module from lower layers only (so two packages of one
// layer never import each other: client cannot import ops), and a package
// missing from this table fails the test: a new package is placed here in
// the commit that adds it.
//
//	0  the vocabulary: the root and the internal helpers it stands on
//	1  pure helpers built on the vocabulary
//	2  the circuit breaker
//	3  the domain packages built on breakers
//	4  what wires the domain packages together
//	5  adapters: wire types, HTTP glue, sinks on real stores
//	6  the ops API and its client
//	7  the one assembly of the whole system
//	8  what runs on a system: the daemon, the simulated agents, test harnesses
//	9  game days
//	10 their reports
//	11 programs
var layers = map[string]int{
	"":                          0,
	"internal/fanout":           0,
	"internal/flock":            0,
	"internal/logtest":          0,
	"internal/nilcheck":         1,
	"backoff":                   1,
	"latency":                   1,
	"internal/codec":            1,
	"breaker":                   2,
	"health":                    3,
	"recovery":                  3,
	"chaos":                     3,
	"metering":                  3,
	"bus":                       4,
	"chaos/chaostest":           4,
	"cluster":                   4,
	"api":                       5,
	"breaker/breakerhttp":       5,
	"bus/busnats":               5,
	"chaos/chaoshttp":           5,
	"cluster/clusternats":       5,
	"metering/meteringhttp":     5,
	"metering/natssink":         5,
	"metering/redis":            5,
	"promexport":                5,
	"ops":                       6,
	"client":                    6,
	"system":                    7,
	"internal/agentsim":         8,
	"internal/daemon":           8,
	"internal/dashboard":        8,
	"internal/gameday":          9,
	"internal/gameday/scenario": 5,
	"internal/gameday/report":   10,
	"internal/tune":             10,
	"internal/opstest":          8,
	"internal/servertest":       0,
	"internal/redistest":        8,
	"internal/natstest":         8,
	"internal/browsertest":      8,
	"cmd/antifragile":           11,
	"examples/agentbus":         11,
	"examples/resilientclient":  11,
}

// domainLayer is the highest layer of the domain: no package at or below it
// imports a module outside the standard library and this one.
const domainLayer = 4

// thirdParty lists the packages above the domain that may import modules
// outside the standard library and this module, and which.
var thirdParty = map[string][]string{
	"metering/redis":       {"github.com/redis/go-redis/"},
	"bus/busnats":          {"github.com/nats-io/"},
	"cluster/clusternats":  {"github.com/nats-io/"},
	"metering/natssink":    {"github.com/nats-io/"},
	"system":               {"github.com/redis/go-redis/", "github.com/nats-io/", "go.yaml.in/yaml/"},
	"ops":                  {"github.com/prometheus/client_golang/"},
	"promexport":           {"github.com/prometheus/client_golang/"},
	"internal/daemon":      {"github.com/prometheus/client_golang/"},
	"internal/browsertest": {"github.com/chromedp/"},
}

type listedPackage struct {
	ImportPath string
	Imports    []string
}

// TestImportDirection checks every package's direct imports against its
// layer, so the direction holds for the transitive imports too.
func TestImportDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", "./...").Output()
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
		seen++
		rel := relative(p.ImportPath)
		layer, ok := layers[rel]
		if !ok {
			t.Errorf("package %q has no layer: add it to the layers table of imports_test.go", rel)
			continue
		}
		for _, imp := range p.Imports {
			checkImport(t, rel, layer, imp)
		}
	}
	if seen == 0 {
		t.Fatal("go list found no packages")
	}
}

func checkImport(t *testing.T, rel string, layer int, imp string) {
	t.Helper()
	if imp != module && !strings.HasPrefix(imp, module+"/") {
		if isStandard(imp) {
			return
		}
		for _, prefix := range thirdParty[rel] {
			if strings.HasPrefix(imp, prefix) {
				return
			}
		}
		if layer <= domainLayer {
			t.Errorf("domain package %q imports the third-party %s", rel, imp)
		} else {
			t.Errorf("%q imports %s, which its entry in thirdParty does not allow", rel, imp)
		}
		return
	}
	dep := relative(imp)
	dl, ok := layers[dep]
	if !ok {
		return // reported as a package without a layer
	}
	if dl >= layer {
		t.Errorf("%q (layer %d) imports %q (layer %d): imports point to lower layers only", rel, layer, dep, dl)
	}
}

func relative(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

// isStandard reports whether an import path is in the standard library: its
// first element has no dot.
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
