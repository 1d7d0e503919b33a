# HOST:PATH, with the path absolute. The connection settings come from the provider's ssh block.
tofu import homelab_file.motd 10.4.0.10:/etc/motd
