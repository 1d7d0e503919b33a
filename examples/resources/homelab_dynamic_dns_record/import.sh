# A record is imported by its hosted zone id, name and type.
terraform import homelab_dynamic_dns_record.clearbrook Z0123456789ABCDEFGHIJ/clearbrook.goldentooth.net/A
