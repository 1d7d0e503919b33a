# The Goldentooth reference homelab (a Raspberry Pi cluster on 10.4.0.0/24) as one plan.
# For now it only reads the home's public IP, which the dynamic DNS record will follow; nodes,
# the Kubernetes API load balancer, kubeadm, BGP, NFS, Route53 and CloudFront come next.

terraform {
  required_providers {
    homelab = {
      source = "homelab/homelab"
    }
  }
}

provider "homelab" {
  public_ip {
    sources = var.public_ip_sources
    timeout = var.public_ip_timeout
  }
}

# The address clearbrook.goldentooth.net will point at. Read on every plan, so `plan` shows a
# moved home IP before anything is applied.
data "homelab_public_ip" "home" {}
