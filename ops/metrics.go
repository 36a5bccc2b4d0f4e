package ops

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/promexport"
)

// metricsRegistry returns the private Prometheus registry of GET /metrics:
// the promexport collector over o's components (when o has a Registry) and
// o.Collectors. A collector that is nil, or that clashes with one
// registered before it, is a *ValidationError naming it
// ("collectors[1]"), joined with the others.
func metricsRegistry(o Options) (*prometheus.Registry, error) {
	preg := prometheus.NewRegistry()
	if o.Registry != nil {
		c, err := promexport.New(promexport.Config{
			Registry: o.Registry, Health: o.Health, Recovery: o.Recovery, Chaos: o.Chaos,
			Meter: o.Meter, Spool: o.Spool, Bus: o.Bus,
		})
		if err != nil {
			return nil, err
		}
		preg.MustRegister(c) // the first in an empty registry: it cannot clash
	}
	var p antifragile.Problems
	for i, c := range o.Collectors {
		field := "collectors[" + strconv.Itoa(i) + "]"
		if err := nilcheck.Required(field, c); err != nil {
			p.Add(err)
			continue
		}
		if err := preg.Register(c); err != nil {
			p.Add(&antifragile.ValidationError{Field: field, Err: err})
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return preg, nil
}

// metricsHandler serves the exposition of preg, going on past a collector
// that fails (its error is reported in the exposition's place of it).
func metricsHandler(preg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(preg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
