"""Reports over the projections: the control card, SLA, the dashboard, deliveries, estimates."""
