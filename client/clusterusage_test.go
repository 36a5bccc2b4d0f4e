package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/antifragile-go/antifragile/client"
)

func TestClient_ClusterUsage(t *testing.T) {
	s := newSystem(t) // no nats:// sink: cmd/antifragile's TestCluster_Usage reads a real one
	_, err := s.client(t, "").ClusterUsage(context.Background())
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !strings.Contains(ae.Envelope.Error, "nats://") {
		t.Fatalf("ClusterUsage = %v, want a 503 naming the nats:// sink", err)
	}
}
