# clearbrook.goldentooth.net follows the home's public IPv4 address: `address` is unset, so every
# plan asks the provider's public_ip sources and shows an update when the address moved.
resource "homelab_dynamic_dns_record" "clearbrook" {
  zone_name = "goldentooth.net"
  name      = "clearbrook.goldentooth.net"
  type      = "A"
  ttl       = 60
}

# A fixed address in the same zone, by zone id.
resource "homelab_dynamic_dns_record" "bastion" {
  zone_id = homelab_dynamic_dns_record.clearbrook.zone_id
  name    = "bastion.goldentooth.net"
  type    = "A"
  address = "81.2.69.142"
}
