# The Goldentooth node baseline on every node with this provider: the same as baseline.yml does
# with Ansible. The benchmark sets the variables: the lab's nodes, its login key and known_hosts
# file, and the lab's stand-in for pkgs.k8s.io (URI, suite, component and signing key).

terraform {
  required_providers {
    homelab = {
      source = "homelab/homelab"
    }
  }
}

variable "nodes" {
  description = "Node name -> address."
  type        = map(string)
}

variable "ssh_private_key_path" {
  type = string
}

variable "ssh_known_hosts_path" {
  type = string
}

variable "apt_uri" {
  type = string
}

variable "apt_suite" {
  type = string
}

variable "apt_component" {
  type = string
}

variable "apt_key" {
  description = "The repository's ASCII-armored signing key."
  type        = string
}

provider "homelab" {
  ssh {
    user             = "root"
    private_key_path = var.ssh_private_key_path
    known_hosts_path = var.ssh_known_hosts_path
  }
}

locals {
  # The node running HAProxy also answers for the API server's name, as in the book.
  api_server_node = "allyrion"
  cluster_hosts = {
    for name, address in var.nodes : address => concat(
      [name, "${name}.goldentooth.net"],
      name == local.api_server_node ? ["lb-apiserver.kubernetes.local"] : [],
    )
  }
  kubernetes_version = "1.29.3-1.1"
}

resource "homelab_node" "node" {
  for_each = var.nodes

  host     = each.value
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
    root = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 operator@goldentooth"]
  }

  raspberry_pi {
    config_txt = [
      "dtoverlay=gpio-fan,gpiopin=14,temp=60",
      "arm_boost=1",
      "arm_freq=2000",
      "over_voltage=6",
    ]
    cmdline_flags = [
      "cgroup_enable=cpuset",
      "cgroup_enable=memory",
      "cgroup_enable=hugetlb",
      "cgroup_memory=1",
    ]
  }
}

resource "homelab_apt_repository" "kubernetes" {
  for_each = var.nodes

  host        = each.value
  name        = "kubernetes"
  uris        = [var.apt_uri]
  suites      = [var.apt_suite]
  components  = [var.apt_component]
  signing_key = var.apt_key
}

resource "homelab_packages" "kubernetes" {
  for_each = var.nodes

  host = each.value
  packages = {
    kubeadm = { version = local.kubernetes_version, hold = true }
    kubelet = { version = local.kubernetes_version, hold = true }
    kubectl = { version = local.kubernetes_version, hold = true }
  }
  repositories = [homelab_apt_repository.kubernetes[each.key].index_sha256]
}
