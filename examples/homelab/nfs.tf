# The book's shared storage: allyrion exports its USB drive (/mnt/usb1) read-write to every host,
# root not squashed, and every node mounts it at /mnt/nfs on first access through systemd's
# mnt-nfs.automount unit.

resource "homelab_nfs_export" "usb1" {
  host = var.nodes[local.nfs_server_node].address
  path = "/mnt/usb1"

  clients = [
    {
      client  = "*"
      options = ["rw", "sync", "no_root_squash", "no_subtree_check"]
    },
  ]

  # The drive's mount point; made when it is missing (e.g. before the drive is set up).
  create_path {
    mode  = "0755"
    owner = "root"
    group = "root"
  }

  ssh {
    host_key = var.nodes[local.nfs_server_node].host_key
  }
}

resource "homelab_nfs_mount" "usb1" {
  for_each = var.nodes

  host        = each.value.address
  server      = homelab_nfs_export.usb1.host
  export      = homelab_nfs_export.usb1.path
  mount_point = "/mnt/nfs"
  automount   = true

  ssh {
    host_key = each.value.host_key
  }
}

locals {
  # The node with the USB drive.
  nfs_server_node = "allyrion"
}
