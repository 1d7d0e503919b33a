# The benchmark's load balancer with this provider: the same three back ends and settings as
# playbook.yml. ./scripts/bench-lb sets the variables.
terraform {
  required_providers {
    homelab = {
      source = "homelab/homelab"
    }
  }
}

variable "lb_address" {
  type = string
}

variable "backend_address" {
  type = string
}

variable "ssh_private_key_path" {
  type = string
}

variable "ssh_known_hosts_path" {
  type = string
}

provider "homelab" {
  ssh {
    user             = "root"
    private_key_path = var.ssh_private_key_path
    known_hosts_path = var.ssh_known_hosts_path
  }
}

resource "homelab_load_balancer" "k8s_api" {
  host = var.lb_address

  frontend {
    name = "k8s_api"
    bind = ["0.0.0.0:6443"]

    servers = {
      bettley = { address = var.backend_address, port = 6441 }
      cargyll = { address = var.backend_address, port = 6442 }
      dalt    = { address = var.backend_address, port = 6443 }
    }
  }
}
