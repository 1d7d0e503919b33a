output "home_public_ip" {
  description = "The home's public IP address, as the first echo service that answered saw it."
  value       = data.homelab_public_ip.home.ip
}

output "home_public_ip_source" {
  description = "The echo service that answered."
  value       = data.homelab_public_ip.home.source
}

output "nodes" {
  description = "What every node reports about itself, read over SSH on every plan."
  value = {
    for name, node in data.homelab_node.node : name => {
      hostname     = node.hostname
      os           = "${node.os_id} ${node.os_version}"
      kernel       = node.kernel
      architecture = node.architecture
      cpu_count    = node.cpu_count
      memory_mib   = floor(node.memory_bytes / 1048576)
      machine_id   = node.machine_id
    }
  }
}

output "node_files" {
  description = "The files kept on every node, with their SHA-256 as the provider read them back."
  value = {
    for name in keys(var.nodes) : name => {
      (homelab_file.motd[name].path) = homelab_file.motd[name].sha256
    }
  }
}

output "clearbrook_address" {
  description = "The address clearbrook.goldentooth.net points at."
  value       = homelab_dynamic_dns_record.clearbrook.address
}

output "home_proxy_certificate_arn" {
  description = "The home proxy's certificate, issued in us-east-1."
  value       = homelab_acm_certificate.home_proxy.arn
}

output "home_proxy_domain_name" {
  description = "The distribution's own name, which the alias records point at."
  value       = homelab_cloudfront_distribution.home_proxy.domain_name
}

output "bgp_sessions" {
  description = "Each node's BGP session with the router, as FRR reports it: Established once the node's MetalLB speaker is up."
  value = {
    for name, node in var.nodes : name => one([
      for session in data.homelab_bgp_sessions.router.sessions : session.state
      if session.address == node.address
    ])
  }
}
