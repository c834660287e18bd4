"""What every room shares: the settings, the errors and their answers, the request and
response schemas, the label values and the metric catalog."""
