# The message of the day on the first node, written atomically with its owner and mode.
resource "homelab_file" "motd" {
  host    = "10.4.0.10"
  path    = "/etc/motd"
  content = "Goldentooth node 1: managed by OpenTofu, hand edits are reverted.\n"
  mode    = "0644"
  owner   = "root"
  group   = "root"
}

# A script in a directory that may not exist yet, on a host whose key is pinned here instead of
# being looked up in known_hosts.
resource "homelab_file" "healthcheck" {
  host               = "10.4.0.11"
  path               = "/usr/local/lib/homelab/healthcheck.sh"
  mode               = "0755"
  create_directories = true
  content            = <<-EOT
    #!/bin/sh
    exec systemctl is-system-running --quiet
  EOT

  ssh {
    user     = "root"
    host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5"
  }
}
