"""Server-rendered pages and the open health/metrics endpoints."""
