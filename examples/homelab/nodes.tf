# The nodes: their facts, read over SSH on every plan, and the files the book's Ansible playbooks
# kept on each of them. One SSH connection per node carries all of it.

locals {
  # The cluster's names in /etc/hosts form, one line per node, the same on every node.
  cluster_hosts = join("", [
    for name, node in var.nodes : "${node.address} ${name}.goldentooth.net ${name}\n"
  ])
}

data "homelab_node" "node" {
  for_each = var.nodes
  host     = each.value.address

  ssh {
    host_key = each.value.host_key
  }
}

# An /etc/hosts block listing every node, kept whole in a file of its own (so /etc/hosts itself
# stays the host's).
resource "homelab_file" "cluster_hosts" {
  for_each           = var.nodes
  host               = each.value.address
  path               = "/etc/goldentooth/hosts"
  create_directories = true
  mode               = "0644"
  content            = "# Goldentooth cluster nodes; managed by OpenTofu.\n${local.cluster_hosts}"

  ssh {
    host_key = each.value.host_key
  }
}

# The message of the day names the node and what it runs, from the facts read above.
resource "homelab_file" "motd" {
  for_each = var.nodes
  host     = each.value.address
  path     = "/etc/motd"
  mode     = "0644"
  content  = <<-EOT
    ${each.key}: a Goldentooth node (${data.homelab_node.node[each.key].os_id} ${data.homelab_node.node[each.key].os_version}, ${data.homelab_node.node[each.key].architecture}, ${data.homelab_node.node[each.key].cpu_count} CPUs)
    Managed by OpenTofu: hand edits are reverted on the next apply.
  EOT

  ssh {
    host_key = each.value.host_key
  }
}
