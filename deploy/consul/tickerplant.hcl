# Consul agent configuration: registers Tickerplant's control plane and its workers' metrics
# endpoints with health checks, so Prometheus (consul_sd_configs) and load balancers find them.
# Put in the agent's -config-dir (Debian: /etc/consul.d/) and `consul reload`.
# The pipeline spec itself lives in Consul KV when TICKERPLANT_CONFIG_STORE names Consul
# (the Consul config store, blocking queries on the key's modify index).

services {
  name = "tickerplant"
  id   = "tickerplant-web"
  port = 8000
  tags = ["control-plane"]
  meta = {
    metrics_path = "/metrics"
  }
  check {
    id       = "tickerplant-healthz"
    name     = "GET /healthz"
    http     = "http://127.0.0.1:8000/healthz"
    # Production settings redirect plain HTTP; the header says the request came through TLS.
    header   = { X-Forwarded-Proto = ["https"] }
    interval = "10s"
    timeout  = "2s"
  }
}

services {
  name = "tickerplant-worker"
  id   = "tickerplant-worker-0"
  port = 9100
  tags = ["worker", "index-0"]
  check {
    id       = "tickerplant-worker-0-metrics"
    name     = "worker 0 metrics"
    http     = "http://127.0.0.1:9100/metrics"
    interval = "15s"
    timeout  = "2s"
  }
}

services {
  name = "tickerplant-worker"
  id   = "tickerplant-worker-1"
  port = 9101
  tags = ["worker", "index-1"]
  check {
    id       = "tickerplant-worker-1-metrics"
    name     = "worker 1 metrics"
    http     = "http://127.0.0.1:9101/metrics"
    interval = "15s"
    timeout  = "2s"
  }
}
