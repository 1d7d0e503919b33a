# The book's Kubernetes API endpoint: HAProxy on allyrion (the node that also answers for
# lb-apiserver.kubernetes.local) in front of the control-plane nodes' API servers on :6443,
# with the stats page and the Prometheus exporter. Until kubeadm runs on the nodes, the back
# ends show DOWN (and plan warns that the back end has no server up) unless something listens
# on their :6443. HAProxy comes from the haproxy package, which the nodes' image already has;
# on real nodes install it with homelab_packages and let this resource depend on that.

locals {
  # Every node but the load balancer's runs a control plane.
  control_plane_nodes = {
    for name, node in var.nodes : name => node if name != local.api_server_node
  }
}

resource "homelab_load_balancer" "k8s_api" {
  host = var.nodes[local.api_server_node].address

  frontend {
    name = "k8s_api"
    bind = ["0.0.0.0:6443"]

    servers = {
      for name, node in local.control_plane_nodes : name => {
        address = node.address
        port    = 6443
      }
    }
  }

  stats {
    bind = "*:8404"
  }

  prometheus {
    bind = "*:8405"
  }

  ssh {
    host_key = var.nodes[local.api_server_node].host_key
  }
}

output "api_load_balancer" {
  description = "The API servers behind HAProxy on the load balancer node, as HAProxy sees them now (UP, DOWN, MAINT) with their last health check, read from its stats socket on every refresh."
  value = {
    servers_up = homelab_load_balancer.k8s_api.servers_up
    servers = {
      for key, server in homelab_load_balancer.k8s_api.server_status :
      server.server => "${server.status} (${server.last_check})"
    }
  }
}
