output "home_public_ip" {
  description = "The home's public IP address, as the first echo service that answered saw it."
  value       = data.homelab_public_ip.home.ip
}

output "home_public_ip_source" {
  description = "The echo service that answered."
  value       = data.homelab_public_ip.home.source
}
