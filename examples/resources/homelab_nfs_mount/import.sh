# HOST:MOUNT_POINT, with the mount point's absolute path.
tofu import homelab_nfs_mount.usb1 10.4.0.11:/mnt/nfs
