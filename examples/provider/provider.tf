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
}
