package api

import (
	"time"

	"github.com/antifragile-go/antifragile/chaos"
)

// ChaosMetrics is the wire form of chaos.Metrics, the body of
// GET /chaos/metrics, POST /chaos/emergency-stop and POST /chaos/reset.
// chaos.Metrics encodes its durations as strings ("1.5s") and has no
// decoder; this type reads that form back.
type ChaosMetrics struct {
	ScenariosRun       uint64         `json:"scenarios_run"`
	LatencyInjections  uint64         `json:"latency_injections"`
	LatencyInjected    Duration       `json:"latency_injected"`
	ErrorsInjected     uint64         `json:"errors_injected"`
	PartitionsInjected uint64         `json:"partitions_injected"`
	TimeoutsInjected   uint64         `json:"timeouts_injected"`
	BreakersForced     uint64         `json:"breakers_forced"`
	DurationsCapped    uint64         `json:"durations_capped"`
	ActiveScenarios    int            `json:"active_scenarios"`
	EmergencyStop      bool           `json:"emergency_stop"`
	StopReason         string         `json:"stop_reason,omitempty"`
	Resources          ChaosResources `json:"resources"`
	Timestamp          time.Time      `json:"timestamp"`
	ConstitutionalHash string         `json:"constitutional_hash"`
}

// ChaosResources is the wire form of chaos.Resources.
type ChaosResources struct {
	CPUGoroutines       int64    `json:"cpu_goroutines"`
	CPUBusy             Duration `json:"cpu_busy"`
	MemoryHeld          int64    `json:"memory_held"`
	DiskWriters         int64    `json:"disk_writers"`
	DiskBytesWritten    int64    `json:"disk_bytes_written"`
	DiskErrors          uint64   `json:"disk_errors"`
	ConnectionsOccupied int64    `json:"connections_occupied"`
}

// ChaosMetricsFrom returns the wire form of m.
func ChaosMetricsFrom(m chaos.Metrics) ChaosMetrics {
	return ChaosMetrics{
		ScenariosRun:       m.ScenariosRun,
		LatencyInjections:  m.LatencyInjections,
		LatencyInjected:    Duration(m.LatencyInjected),
		ErrorsInjected:     m.ErrorsInjected,
		PartitionsInjected: m.PartitionsInjected,
		TimeoutsInjected:   m.TimeoutsInjected,
		BreakersForced:     m.BreakersForced,
		DurationsCapped:    m.DurationsCapped,
		ActiveScenarios:    m.ActiveScenarios,
		EmergencyStop:      m.EmergencyStop,
		StopReason:         m.StopReason,
		Resources: ChaosResources{
			CPUGoroutines:       m.Resources.CPUGoroutines,
			CPUBusy:             Duration(m.Resources.CPUBusy),
			MemoryHeld:          m.Resources.MemoryHeld,
			DiskWriters:         m.Resources.DiskWriters,
			DiskBytesWritten:    m.Resources.DiskBytesWritten,
			DiskErrors:          m.Resources.DiskErrors,
			ConnectionsOccupied: m.Resources.ConnectionsOccupied,
		},
		Timestamp:          m.Timestamp,
		ConstitutionalHash: m.ConstitutionalHash,
	}
}

// Metrics returns m as a chaos.Metrics.
func (m ChaosMetrics) Metrics() chaos.Metrics {
	return chaos.Metrics{
		ScenariosRun:       m.ScenariosRun,
		LatencyInjections:  m.LatencyInjections,
		LatencyInjected:    time.Duration(m.LatencyInjected),
		ErrorsInjected:     m.ErrorsInjected,
		PartitionsInjected: m.PartitionsInjected,
		TimeoutsInjected:   m.TimeoutsInjected,
		BreakersForced:     m.BreakersForced,
		DurationsCapped:    m.DurationsCapped,
		ActiveScenarios:    m.ActiveScenarios,
		EmergencyStop:      m.EmergencyStop,
		StopReason:         m.StopReason,
		Resources: chaos.Resources{
			CPUGoroutines:       m.Resources.CPUGoroutines,
			CPUBusy:             time.Duration(m.Resources.CPUBusy),
			MemoryHeld:          m.Resources.MemoryHeld,
			DiskWriters:         m.Resources.DiskWriters,
			DiskBytesWritten:    m.Resources.DiskBytesWritten,
			DiskErrors:          m.Resources.DiskErrors,
			ConnectionsOccupied: m.Resources.ConnectionsOccupied,
		},
		Timestamp:          m.Timestamp,
		ConstitutionalHash: m.ConstitutionalHash,
	}
}
