# The first node of the cluster, prepared for Kubernetes: its name, the lab's time zone, swap
# off for the kubelet, the modules and sysctls container networking needs, the other nodes in
# /etc/hosts, the operator's key, and the Raspberry Pi boot settings for cgroups.
resource "homelab_node" "allyrion" {
  host     = "10.4.0.10"
  hostname = "allyrion"
  timezone = "America/New_York"
  swap     = false

  kernel_modules = ["overlay", "br_netfilter"]
  sysctl = {
    "net.ipv4.ip_forward"                 = "1"
    "net.bridge.bridge-nf-call-iptables"  = "1"
    "net.bridge.bridge-nf-call-ip6tables" = "1"
  }

  hosts_entries = {
    "10.4.0.11" = ["bettley", "bettley.goldentooth.net"]
    "10.4.0.12" = ["cargyll", "cargyll.goldentooth.net"]
  }

  authorized_keys = {
    root = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 operator@goldentooth"]
  }

  raspberry_pi {
    config_txt    = ["dtparam=audio=off", "arm_64bit=1"]
    cmdline_flags = ["cgroup_enable=memory", "cgroup_memory=1"]
  }

  # With "if_needed", a change to the boot files is followed by a reboot, and apply waits
  # until the node answers SSH again.
  reboot = "never"
}
