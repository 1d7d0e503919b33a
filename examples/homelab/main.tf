# The Goldentooth reference homelab (a Raspberry Pi cluster on 10.4.0.0/24) as one plan.
# So far: the nodes' facts, baseline and files (nodes.tf), the NFS export and every node's mount
# of it (nfs.tf), the router's BGP peers for MetalLB (router.tf), and the home proxy
# (home_proxy.tf: the dynamic DNS record that follows the home's public IP, the ACM certificate,
# the CloudFront distribution and its alias records); the Kubernetes API load balancer and
# kubeadm come next.

terraform {
  required_providers {
    homelab = {
      source = "homelab/homelab"
    }
  }
}

provider "homelab" {
  # How to reach every node and the router; their host keys are pinned in nodes.tf and
  # router.tf.
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
