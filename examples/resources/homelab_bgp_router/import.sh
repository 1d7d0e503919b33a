# HOST:ASN. The connection settings come from the provider's ssh block.
tofu import homelab_bgp_router.home 10.4.0.1:64500
