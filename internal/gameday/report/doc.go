// Package report renders a game day's result: the per-phase summary table
// and verdict as text (WriteSummary), and a self-contained HTML report with
// SVG charts of the health score, the breakers, the traffic, the latency and
// the recovery queue, with the phases and faults marked (WriteReport,
// WriteReportFile).
package report
