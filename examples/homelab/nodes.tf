# The nodes: their facts, read over SSH on every plan, the book's node baseline, and the files
# the book's Ansible playbooks kept on each of them.

locals {
  # The node running HAProxy also answers for the Kubernetes API server's name, as in the book.
  api_server_node = "allyrion"

  # Every node's names in /etc/hosts, the same on every node.
  cluster_hosts = {
    for name, node in var.nodes : node.address => concat(
      [name, "${name}.goldentooth.net"],
      name == local.api_server_node ? ["lb-apiserver.kubernetes.local"] : [],
    )
  }
}

# Read after the baseline is applied, so the facts (the host name above all) are the node's as
# the baseline leaves it.
data "homelab_node" "node" {
  for_each = var.nodes
  host     = each.value.address

  ssh {
    host_key = each.value.host_key
  }

  depends_on = [homelab_node.node]
}

# The book's baseline for a Kubernetes node (its baseline.yml): the node's name, the time zone,
# swap off for the kubelet, the modules and sysctls container networking needs, every node in
# /etc/hosts, the operator's key for root, and the Raspberry Pi boot settings (cgroups in the
# kernel command line, the fan and the overclock in config.txt; they take effect at the next
# boot, which is left to the operator: reboot = "never" is the default). The book's Kubernetes
# apt repository and packages (homelab_apt_repository, homelab_packages) belong here too; the
# demo's lab has no repository to serve them, so they are left out.
resource "homelab_node" "node" {
  for_each = var.nodes

  host     = each.value.address
  hostname = each.key
  timezone = "America/New_York"
  swap     = false

  kernel_modules = ["overlay", "br_netfilter"]
  sysctl = {
    "net.bridge.bridge-nf-call-iptables"  = "1"
    "net.bridge.bridge-nf-call-ip6tables" = "1"
    "net.ipv4.ip_forward"                 = "1"
  }

  hosts_entries = local.cluster_hosts

  authorized_keys = {
    root = var.root_authorized_keys
  }

  raspberry_pi {
    cmdline_flags = [
      "cgroup_enable=cpuset",
      "cgroup_enable=memory",
      "cgroup_enable=hugetlb",
      "cgroup_memory=1",
    ]
    config_txt = [
      "dtoverlay=gpio-fan,gpiopin=14,temp=60",
      "arm_boost=1",
      "arm_freq=2000",
      "over_voltage=6",
    ]
  }

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
