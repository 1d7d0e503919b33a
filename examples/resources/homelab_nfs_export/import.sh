# HOST:PATH, with the exported directory's absolute path.
tofu import homelab_nfs_export.usb1 10.4.0.10:/mnt/usb1
