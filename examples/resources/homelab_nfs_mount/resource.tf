# The book's client side: a node mounts the first node's export on first access, through
# systemd's mnt-nfs.automount and mnt-nfs.mount units.
resource "homelab_nfs_mount" "usb1" {
  host        = "10.4.0.11"
  server      = "10.4.0.10"
  export      = "/mnt/usb1"
  mount_point = "/mnt/nfs"
  options     = ["rw", "hard"]
  automount   = true
}

# Mounted at boot (and now) with NFS version 4.
resource "homelab_nfs_mount" "media" {
  host        = "10.4.0.11"
  server      = "10.4.0.10"
  export      = "/srv/media"
  mount_point = "/srv/media"
  fs_type     = "nfs4"
  options     = ["ro", "soft"]
}
