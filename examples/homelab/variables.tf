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
