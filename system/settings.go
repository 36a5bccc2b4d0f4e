package system

import (
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/antifragile-go/antifragile/internal/codec"
)

// Applies says when a change of a setting takes effect in a running system.
type Applies uint8

const (
	// Restart: the setting is read when the system is built; a reload
	// reports its change and leaves the value in force until a restart.
	Restart Applies = iota
	// Live: a reload applies the change while the system runs.
	Live
)

// String returns "restart" or "live".
func (a Applies) String() string {
	if a == Live {
		return "live"
	}
	return "restart"
}

// settings classifies every setting of Config, by JSON path: the entry
// whose path is the setting's own or its nearest ancestor decides. The
// sections whose settings all apply alike have one entry; the others list
// each of their fields, and TestSettings walks Config to check that every
// field of those sections is listed, so that a new field cannot be left
// out. This table is the one place that says what a reload applies.
var settings = map[string]Applies{
	"constitutional_hash": Restart,

	"ops.listen":                Restart,
	"ops.token":                 Live,
	"ops.token_env":             Live,
	"ops.read_token":            Live,
	"ops.read_token_env":        Live,
	"ops.allowed_hosts":         Restart,
	"ops.allow_unauthenticated": Restart,
	"ops.ready_statuses":        Restart,
	"ops.max_body_bytes":        Restart,
	"ops.read_header_timeout":   Restart,
	"ops.read_timeout":          Restart,
	"ops.idle_timeout":          Restart,
	"ops.body_timeout":          Restart,
	"ops.shutdown_timeout":      Restart,
	"ops.max_connections":       Restart,
	"ops.tls_cert_file":         Restart,
	"ops.tls_key_file":          Restart,

	// Every breaker's rules: the default (and the breakers that follow it)
	// and the named ones, added, changed or removed (back to the default).
	"breakers": Live,

	"health": Restart,

	"recovery.policies":                Live, // added or changed; a removed one stays until a restart
	"recovery.default_policy":          Restart,
	"recovery.max_concurrent":          Restart,
	"recovery.max_history":             Restart,
	"recovery.max_restarts":            Restart,
	"recovery.restart_window":          Restart,
	"recovery.watch":                   Restart,
	"recovery.watch_buffer":            Restart,
	"recovery.seed":                    Restart,
	"recovery.history_path":            Restart,
	"recovery.max_outages_per_service": Restart,
	"recovery.max_outages":             Restart,
	"recovery.learn_min_outages":       Restart,
	"recovery.prediction_horizon":      Restart,
	"recovery.cautious":                Restart,
	"tune.ledger_path":                 Restart,
	"recovery.constitutional_hash":     Restart,

	"chaos.seed":                Restart,
	"chaos.max_duration":        Live,
	"chaos.max_delay":           Live,
	"chaos.memory_cap_bytes":    Live,
	"chaos.disk_io":             Live,
	"chaos.network_bandwidth":   Live,
	"chaos.stop_check_interval": Restart,
	"chaos.strict_targets":      Live,
	"chaos.constitutional_hash": Restart,
	"chaos.stop_on_critical":    Restart,

	"metering": Restart, // the meter, its sink, spool and in-memory aggregation
	"bus":      Restart, // mailboxes, workers, the agents' settings
	"cluster":  Restart, // membership and the NATS connection
}

// SettingApplies reports when a change of the setting at path (a JSON path
// such as "chaos.max_delay" or "breakers.named.db") takes effect: Live or
// Restart. An unknown path is Restart.
func SettingApplies(path string) Applies {
	for p := path; p != ""; p = parent(p) {
		if a, ok := settings[p]; ok {
			return a
		}
	}
	return Restart
}

// LiveSettings returns the JSON paths of the settings a reload applies
// while the system runs, sorted; every other setting needs a restart.
func LiveSettings() []string {
	var out []string
	for p, a := range settings {
		if a == Live {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// parent returns the JSON path above p, "" at the top. A map key in
// brackets (breakers.named["a.b"]) is one step.
func parent(p string) string {
	if strings.HasSuffix(p, "\"]") {
		if i := strings.LastIndex(p, "[\""); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// changedSettings returns the JSON paths of the settings whose values differ
// between a and b, in the order of Config's fields (map entries sorted by
// key, each entry one setting). Functions and fields without a JSON form
// are not settings and are not compared.
func changedSettings(a, b *Config) []string {
	var out []string
	diffValues("", reflect.ValueOf(*a), reflect.ValueOf(*b), &out)
	return out
}

// diffValues appends to out the paths under path at which a and b differ.
func diffValues(path string, a, b reflect.Value, out *[]string) {
	switch a.Kind() {
	case reflect.Func, reflect.Interface, reflect.Chan:
		return
	case reflect.Struct:
		fields := jsonFields(a.Type())
		if len(fields) == 0 {
			break // a value type such as time.Time: compared whole
		}
		for _, f := range fields {
			diffValues(join(path, f.name), a.FieldByIndex(f.index), b.FieldByIndex(f.index), out)
		}
		return
	case reflect.Map:
		keys := map[string]reflect.Value{}
		for _, m := range []reflect.Value{a, b} {
			for _, k := range m.MapKeys() {
				keys[k.String()] = k
			}
		}
		for _, name := range slices.Sorted(maps.Keys(keys)) {
			ea, eb := a.MapIndex(keys[name]), b.MapIndex(keys[name])
			if ea.IsValid() != eb.IsValid() || ea.IsValid() && !equalSetting(ea, eb) {
				*out = append(*out, codec.MapPath(path, name))
			}
		}
		return
	}
	if !equalSetting(a, b) {
		*out = append(*out, path)
	}
}

// equalSetting compares two values of a setting, ignoring the functions and
// the fields without a JSON form inside them.
func equalSetting(a, b reflect.Value) bool {
	var d []string
	if a.Kind() == reflect.Struct && len(jsonFields(a.Type())) > 0 {
		diffValues("x", a, b, &d)
		return len(d) == 0
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// jsonField is a field of a struct with its JSON name; the fields of an
// inline field are listed in its place, with their index paths.
type jsonField struct {
	name  string
	index []int
}

// jsonFields returns the JSON members of struct type t (exported fields
// without json:"-"), inline ones flattened.
func jsonFields(t reflect.Type) []jsonField {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []jsonField
	for sf := range t.Fields() {
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Type.Kind() == reflect.Struct && (opts == "inline" || strings.HasPrefix(opts, "inline,")) {
			for _, sub := range jsonFields(sf.Type) {
				out = append(out, jsonField{sub.name, append([]int{sf.Index[0]}, sub.index...)})
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, jsonField{name, sf.Index})
	}
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Setting is one setting of Config: its JSON path, when a change of it
// takes effect, and whether the settings table lists it (or a section
// holding it); an unlisted setting counts as Restart.
type Setting struct {
	Path    string  `json:"path"`
	Applies Applies `json:"applies"`
	Listed  bool    `json:"-"`
}

// MarshalText encodes a as "live" or "restart".
func (a Applies) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Settings returns every setting of Config, walked from its fields (a map,
// such as breakers.named, is one setting; so is a value such as a
// duration), in the order of the fields, each with when its change takes
// effect. It is what docs/configuration.md's "Live reload" table shows.
func Settings() []Setting {
	var out []Setting
	walkSettings("", reflect.TypeFor[Config](), &out)
	return out
}

func walkSettings(path string, t reflect.Type, out *[]Setting) {
	if fs := jsonFields(t); len(fs) > 0 {
		for _, f := range fs {
			walkSettings(join(path, f.name), t.FieldByIndex(f.index).Type, out)
		}
		return
	}
	switch t.Kind() {
	case reflect.Func, reflect.Interface, reflect.Chan:
		return
	}
	s := Setting{Path: path, Applies: Restart}
	for p := path; p != ""; p = parent(p) {
		if a, ok := settings[p]; ok {
			s.Applies, s.Listed = a, true
			break
		}
	}
	*out = append(*out, s)
}
