# The Goldentooth router: FRR with the AS that MetalLB's speakers peer with (their BGPPeer has
# peerASN 64500). bgpd is enabled in /etc/frr/daemons if it is not yet.
resource "homelab_bgp_router" "home" {
  host      = "10.4.0.1"
  asn       = 64500
  router_id = "10.4.0.1"

  # MetalLB's speakers announce service addresses without route-maps on the router.
  ebgp_requires_policy = false
}
