# The home's public IPv4 address, read on every plan.
data "homelab_public_ip" "home" {}

output "home_ip" {
  value = data.homelab_public_ip.home.ip
}
