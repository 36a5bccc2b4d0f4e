package ops

import (
	"context"
	"net/http"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/metering"
)

// ClusterUsageSource gives every tenant's usage across the instances that
// meter into one place (the system's nats:// metering sink). It blocks on
// the network; ClusterUsage answers an error when that is unreachable.
type ClusterUsageSource interface {
	ClusterUsage(ctx context.Context) (api.ClusterUsage, error)
}

func (s *server) getClusterUsage(w http.ResponseWriter, r *http.Request) {
	src := s.opts.ClusterUsage
	if src == nil {
		writeError(w, r, s.log, errUnavailable("cluster usage (the metering sink nats://)"))
		return
	}
	u, err := src.ClusterUsage(r.Context())
	if err != nil {
		writeError(w, r, s.log, &httpError{status: http.StatusServiceUnavailable, msg: "cluster usage: " + oneLine(err)})
		return
	}
	if u.Usage == nil {
		u.Usage = []metering.Usage{}
	}
	writeJSON(w, http.StatusOK, u)
}
