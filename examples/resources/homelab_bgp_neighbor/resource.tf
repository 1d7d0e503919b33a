variable "metallb_bgp_password" {
  description = "The TCP MD5 password of MetalLB's BGPPeer (its password secret)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

locals {
  # The nodes that run a MetalLB speaker.
  metallb_speakers = {
    bettley = "10.4.0.11"
    cargyll = "10.4.0.12"
    dalt    = "10.4.0.13"
  }
}

# One neighbor per node, matching MetalLB's BGPPeer (myASN 64501, peerASN 64500). The password
# is write-only: it never reaches the plan or the state.
resource "homelab_bgp_neighbor" "metallb" {
  for_each = local.metallb_speakers

  host        = homelab_bgp_router.home.host
  asn         = homelab_bgp_router.home.asn
  address     = each.value
  remote_asn  = 64501
  description = "metallb speaker on ${each.key}"

  password         = var.metallb_bgp_password
  password_version = "1" # change this whenever the password changes

  # The apply fails, and the neighbor is rolled back, if the session is not up by then.
  wait_for_established = "2m"
}
