"""What the service reports about itself: the metrics of one app (built from the catalog),
the observers that turn events into them, runtime metrics, traces, and the per-request record
the access log and server span read."""
