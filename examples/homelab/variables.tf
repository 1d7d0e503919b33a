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
  description = "The cluster's nodes by name: the address SSH connects to, and the node's SSH host key (`ssh-ed25519 AAAA…`) to pin, or null to look it up in known_hosts. ./scripts/demo maps allyrion, bettley and cargyll onto local lab hosts."
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

variable "ssh_user" {
  description = "The user the provider logs in as on every node."
  type        = string
  default     = "root"
}

variable "ssh_private_key_path" {
  description = "A private key the nodes accept; null tries the SSH agent, then ~/.ssh/id_ed25519, id_ecdsa and id_rsa."
  type        = string
  default     = null
}
