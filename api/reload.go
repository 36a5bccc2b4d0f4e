package api

// ReloadResult is the body of POST /config/reload: what a configuration
// reload changed. Every list holds JSON paths of settings (such as
// "chaos.max_delay" or "breakers.named.db"), in the order of the config's
// fields; an empty list is [] in JSON.
//
//	{"changed":["breakers.named.db","ops.listen"],"applied":["breakers.named.db"],"restart":["ops.listen"]}
type ReloadResult struct {
	// Changed lists every setting whose value differs from the one in
	// force (after defaults; the tokens as resolved, from their
	// environment variables too).
	Changed []string `json:"changed"`
	// Applied lists the changed settings now in force.
	Applied []string `json:"applied"`
	// Restart lists the changed settings that take effect only when the
	// process restarts; until then the values in force stay.
	Restart []string `json:"restart"`
}
