variable "goldentooth_zone_id" {
  description = "Id of the Route53 hosted zone goldentooth.net."
  type        = string
}

# The home proxy's certificate: its name and the wildcard below it, validated through
# goldentooth.net. The provider writes ACM's validation records into the zone (TTL 60) and
# waits until ACM issues the certificate, in us-east-1, where CloudFront takes certificates from.
resource "homelab_acm_certificate" "home_proxy" {
  domain_name               = "home-proxy.goldentooth.net"
  subject_alternative_names = ["*.home-proxy.goldentooth.net"]

  validation {
    route53_zone_id = var.goldentooth_zone_id
  }
}

output "home_proxy_certificate_arn" {
  value = homelab_acm_certificate.home_proxy.arn
}
