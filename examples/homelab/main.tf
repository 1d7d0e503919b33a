# The Goldentooth reference homelab (a Raspberry Pi cluster on 10.4.0.0/24) as one plan.
# So far: the nodes' facts and files (nodes.tf), and the home proxy (home_proxy.tf: the dynamic
# DNS record that follows the home's public IP, the ACM certificate, the CloudFront distribution
# and its alias records); the Kubernetes API load balancer, kubeadm, BGP and NFS come next.

terraform {
  required_providers {
    homelab = {
      source = "homelab/homelab"
    }
  }
}

provider "homelab" {
  # How to reach every node; each node's host key is pinned in nodes.tf.
  ssh {
    user             = var.ssh_user
    private_key_path = var.ssh_private_key_path
  }

  public_ip {
    sources = var.public_ip_sources
    timeout = var.public_ip_timeout
  }
}

# The address clearbrook.goldentooth.net will point at. Read on every plan, so `plan` shows a
# moved home IP before anything is applied.
data "homelab_public_ip" "home" {}
