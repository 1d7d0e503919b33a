terraform {
  required_providers {
    homelab = {
      source = "homelab/homelab"
    }
  }
}

provider "homelab" {
  # How the home's public IP is found: echo services tried in order, each given `timeout`.
  public_ip {
    sources = ["https://checkip.amazonaws.com/", "https://api.ipify.org/"]
    timeout = "5s"
  }

  # How hosts are reached: one shared connection per host, host keys checked against
  # known_hosts (or a resource's pinned host_key). Unset values come from HOMELAB_SSH_*.
  ssh {
    user             = "root"
    private_key_path = "~/.ssh/id_ed25519"
    known_hosts_path = "~/.ssh/known_hosts"
    connect_timeout  = "10s"
  }

  # Route53, ACM and CloudFront. Unset values come from the AWS SDK's usual environment
  # variables and shared files (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws/config, ...).
  aws {
    region  = "us-east-1"
    profile = "homelab"
  }
}
