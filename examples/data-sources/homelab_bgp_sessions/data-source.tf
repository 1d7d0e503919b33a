# The router's BGP sessions as FRR reports them now.
data "homelab_bgp_sessions" "home" {
  host = "10.4.0.1"
  asn  = 64500
}

output "bgp_sessions_down" {
  description = "Neighbors whose session is not Established, with the state FRR reports."
  value = {
    for session in data.homelab_bgp_sessions.home.sessions :
    session.address => session.state if !session.established
  }
}
