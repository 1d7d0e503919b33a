# The book's API load balancer: HAProxy on the first node in front of the three control-plane
# nodes' API servers, checked over HTTPS on /healthz, with the stats page and the Prometheus
# exporter. HAProxy itself comes from the haproxy package (homelab_packages).
resource "homelab_load_balancer" "k8s_api" {
  host = "10.4.0.10"

  frontend {
    name  = "k8s_api"
    bind  = ["0.0.0.0:6443"]
    check = "https"
    # The API server's certificate is not verified by the check (set check_ca_file to do so).
    check_path = "/healthz"
    inter      = "2s"
    fall       = 3
    rise       = 2

    servers = {
      bettley = { address = "10.4.0.11", port = 6443 }
      cargyll = { address = "10.4.0.12", port = 6443 }
      dalt    = { address = "10.4.0.13", port = 6443 }
    }
  }

  stats {
    bind = "*:8404"
    uri  = "/stats"
  }

  prometheus {
    bind = "*:8405"
  }
}

# Every server's live state, read from HAProxy's stats socket on each refresh.
output "api_servers" {
  value = {
    for key, server in homelab_load_balancer.k8s_api.server_status : key => server.status
  }
}
