# The book's export: the first node's USB drive, read-write for every host, root not squashed.
resource "homelab_nfs_export" "usb1" {
  host = "10.4.0.10"
  path = "/mnt/usb1"

  clients = [
    {
      client  = "*"
      options = ["rw", "sync", "no_root_squash", "no_subtree_check"]
    },
  ]
}

# A read-only share for the cluster's network and a netgroup, in a directory created when it is
# missing.
resource "homelab_nfs_export" "media" {
  host = "10.4.0.10"
  path = "/srv/media"

  clients = [
    {
      client  = "10.4.0.0/24"
      options = ["ro", "no_subtree_check"]
    },
    {
      client  = "@admins"
      options = ["rw", "no_subtree_check"]
    },
  ]

  create_path {
    mode  = "0775"
    owner = "root"
    group = "root"
  }
}
