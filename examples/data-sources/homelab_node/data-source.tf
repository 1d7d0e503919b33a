# Facts about a node, read over SSH on every plan. Also: cpu_count, memory_bytes, default_ipv4
# and machine_id.
data "homelab_node" "node1" {
  host = "10.4.0.10"
}

output "node1" {
  value = {
    hostname     = data.homelab_node.node1.hostname
    os           = "${data.homelab_node.node1.os_id} ${data.homelab_node.node1.os_version}"
    kernel       = data.homelab_node.node1.kernel
    architecture = data.homelab_node.node1.architecture
  }
}
