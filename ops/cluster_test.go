package ops_test

import (
	"testing"
)

// clusterWriteRoutes are the write routes of cluster mode. Their effect
// needs a cluster on NATS, which system/cluster_test.go runs; here they
// show that the token is checked before anything else.
var clusterWriteRoutes = []struct{ method, target, body string }{
	{"POST", "/cluster/emergency-stop", ""},
	{"POST", "/cluster/reset", ""},
	{"POST", "/cluster/chaos", `{"scenario":{"name":"x","type":"latency","target":"db","delay":"1ms"},"selector":{}}`},
	{"DELETE", "/cluster/chaos/x", ""},
}

func TestHandler_ClusterRoutes(t *testing.T) {
	s := newSystem(t) // no cluster member
	for _, r := range clusterWriteRoutes {
		envelope(t, do(t, s.h, r.method, r.target, r.body), 401)
		envelope(t, do(t, s.h, r.method, r.target, r.body, "Authorization", "Bearer wrong"), 403)
		envelope(t, do(t, s.h, r.method, r.target, r.body, auth()...), 503)
	}
	for _, target := range []string{"/cluster", "/cluster/lever", "/cluster/chaos/x"} {
		envelope(t, do(t, s.h, "GET", target, ""), 503)
	}
}
