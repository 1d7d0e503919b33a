# The host. Import reads the settings this resource manages there, from the record it keeps on
# the host (/var/lib/homelab/node.record).
tofu import homelab_node.allyrion 10.4.0.10
