# The router and its BGP peers for MetalLB: FRR on the router (10.4.0.1) runs AS 64500, and every
# node runs a MetalLB speaker (AS 64501) that announces the load-balancer addresses of
# Kubernetes services (the pool 10.4.11.0 - 10.4.15.254) to it. MetalLB's side is its own
# configuration in the cluster: a BGPPeer with myASN 64501, peerASN 64500 and peerAddress
# 10.4.0.1, and a BGPAdvertisement for the pool. The router is reached over SSH like the nodes
# and configured through vtysh, its host key pinned like the nodes' (var.router_host_key);
# ./scripts/demo runs FRR on a fourth lab host and a GoBGP speaker on every node in MetalLB's
# place.

# The BGP instance. bgpd is switched on in /etc/frr/daemons if it is not yet.
resource "homelab_bgp_router" "router" {
  host      = var.router_address
  asn       = 64500
  router_id = var.router_address

  # MetalLB's speakers announce service addresses without route-maps on the router.
  ebgp_requires_policy = false

  ssh {
    host_key = var.router_host_key
  }
}

# One neighbor per node: the node's MetalLB speaker. A node added to var.nodes gets its
# neighbor in the same plan; a node removed loses it (and its session closes).
resource "homelab_bgp_neighbor" "metallb" {
  for_each = var.nodes

  host        = homelab_bgp_router.router.host
  asn         = homelab_bgp_router.router.asn
  address     = each.value.address
  remote_asn  = 64501
  description = "metallb speaker on ${each.key}"

  # The apply fails, and the neighbor is rolled back, if the speaker does not connect in time.
  # Null configures the neighbors without waiting, e.g. before MetalLB is installed.
  wait_for_established = var.metallb_session_wait

  ssh {
    host_key = var.router_host_key
  }
}

# The sessions as FRR reports them now, read on every plan (after the neighbors are applied).
data "homelab_bgp_sessions" "router" {
  host = homelab_bgp_router.router.host
  asn  = homelab_bgp_router.router.asn

  ssh {
    host_key = var.router_host_key
  }

  depends_on = [homelab_bgp_neighbor.metallb]
}
