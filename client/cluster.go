package client

import (
	"context"
	"net/http"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
)

// Cluster returns the cluster view (GET /cluster): every instance by
// freshness, the breakers rolled up by name, the cluster's status and what
// pulled it down. A view the server could not refresh has Stale set.
func (c *Client) Cluster(ctx context.Context) (*cluster.View, error) {
	var v cluster.View
	if err := c.do(ctx, http.MethodGet, "/cluster", nil, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ClusterLever returns the cluster's emergency stop and which instances
// acknowledged it (GET /cluster/lever).
func (c *Client) ClusterLever(ctx context.Context) (cluster.Lever, error) {
	var v cluster.Lever
	err := c.do(ctx, http.MethodGet, "/cluster/lever", nil, nil, &v)
	return v, err
}

// ClusterEmergencyStop latches the cluster-wide emergency stop, recording
// by as who pulled it (empty: the client's address) (POST
// /cluster/emergency-stop). It needs the token.
func (c *Client) ClusterEmergencyStop(ctx context.Context, by string) (cluster.Lever, error) {
	var v cluster.Lever
	err := c.do(ctx, http.MethodPost, "/cluster/emergency-stop", nil, api.LeverRequest{By: by}, &v)
	return v, err
}

// ClusterReset clears the cluster-wide emergency stop (POST
// /cluster/reset). It needs the token.
func (c *Client) ClusterReset(ctx context.Context, by string) (cluster.Lever, error) {
	var v cluster.Lever
	err := c.do(ctx, http.MethodPost, "/cluster/reset", nil, api.LeverRequest{By: by}, &v)
	return v, err
}

// InjectFleet injects s on the instances sel chooses (POST
// /cluster/chaos). It needs the token.
func (c *Client) InjectFleet(ctx context.Context, s chaos.Scenario, sel cluster.Selector, by string) (cluster.FleetRun, error) {
	var v cluster.FleetRun
	err := c.do(ctx, http.MethodPost, "/cluster/chaos", nil, api.FleetInjection{Scenario: s, Selector: sel, By: by}, &v)
	return v, err
}

// Fleet returns the latest run of the fleet scenario name and each
// instance's outcome (GET /cluster/chaos/{name}).
func (c *Client) Fleet(ctx context.Context, name string) (cluster.FleetStatus, error) {
	var v cluster.FleetStatus
	err := c.do(ctx, http.MethodGet, "/cluster/chaos/"+seg(name), nil, nil, &v)
	return v, err
}

// StopFleet ends the fleet scenario name everywhere (DELETE
// /cluster/chaos/{name}). It needs the token.
func (c *Client) StopFleet(ctx context.Context, name string) (api.FleetStopped, error) {
	var v api.FleetStopped
	err := c.do(ctx, http.MethodDelete, "/cluster/chaos/"+seg(name), nil, nil, &v)
	return v, err
}

// ClusterUsage returns every tenant's usage across the instances metering
// into one JetStream stream (GET /cluster/usage): the totals the instances
// fold the stored batches into, each batch once, and how far the folding
// got. A server whose metering sink is not nats:// answers 503.
func (c *Client) ClusterUsage(ctx context.Context) (api.ClusterUsage, error) {
	var v api.ClusterUsage
	err := c.do(ctx, http.MethodGet, "/cluster/usage", nil, nil, &v)
	return v, err
}
