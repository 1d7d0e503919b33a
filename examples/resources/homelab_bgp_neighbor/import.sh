# ROUTER_HOST:ADDRESS, or ROUTER_HOST:LISTEN_RANGE for dynamic neighbors. The password is
# write-only, so an imported neighbor with a password plans one update that sends it again.
tofu import 'homelab_bgp_neighbor.metallb["bettley"]' 10.4.0.1:10.4.0.11
