variable "public_ip_sources" {
  description = "Echo services that answer with the caller's public IP as plain text, tried in order. ./scripts/demo points this at a local echo service."
  type        = list(string)
  default = [
    "https://checkip.amazonaws.com/",
    "https://api.ipify.org/",
  ]
}

variable "public_ip_timeout" {
  description = "How long one echo service may take to answer."
  type        = string
  default     = "5s"
}

variable "nodes" {
  description = "The cluster's nodes by name: the node's IPv4 address (SSH connects to it and the router peers with its MetalLB speaker there), and the node's SSH host key (`ssh-ed25519 AAAA…`) to pin, or null to look it up in known_hosts. ./scripts/demo maps allyrion, bettley and cargyll onto local lab hosts."
  type = map(object({
    address  = string
    host_key = optional(string)
  }))
  default = {
    allyrion = { address = "10.4.0.10" }
    bettley  = { address = "10.4.0.11" }
    cargyll  = { address = "10.4.0.12" }
  }
}

variable "router_address" {
  description = "The router running FRR: the IPv4 address SSH connects to, also its BGP router ID. ./scripts/demo maps it onto a fourth lab host."
  type        = string
  default     = "10.4.0.1"
}

variable "router_host_key" {
  description = "The router's SSH host key (`ssh-ed25519 AAAA…`) to pin, or null to look it up in known_hosts."
  type        = string
  default     = null
}

variable "metallb_session_wait" {
  description = "How long the apply waits for each node's MetalLB speaker to bring its BGP session up (a duration such as \"2m\"); null configures the router without waiting, e.g. before MetalLB runs."
  type        = string
  default     = "2m"
}

variable "ssh_user" {
  description = "The user the provider logs in as on every node and on the router."
  type        = string
  default     = "root"
}

variable "ssh_private_key_path" {
  description = "A private key the nodes and the router accept; null tries the SSH agent, then ~/.ssh/id_ed25519, id_ecdsa and id_rsa."
  type        = string
  default     = null
}

variable "root_authorized_keys" {
  description = "SSH public keys root accepts on every node, kept in a marked block of root's authorized_keys (keys outside it, such as the one the provider logs in with, stay)."
  type        = list(string)
  default     = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 operator@goldentooth"]
}
