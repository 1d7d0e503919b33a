# The home proxy: clearbrook.goldentooth.net follows the home's public IP, and CloudFront serves
# home-proxy.goldentooth.net (and every name below it) from there, with an ACM certificate
# validated through Route53. AWS settings (credentials, region, endpoints) come from the usual
# AWS environment variables; ./scripts/demo points them at a local AWS API.

# Follows the home's public IP: `address` is unset, so every plan asks the public_ip sources
# and shows an update when the home moved.
resource "homelab_dynamic_dns_record" "clearbrook" {
  zone_name = "goldentooth.net"
  name      = "clearbrook.goldentooth.net"
  type      = "A"
  ttl       = 60
}

# In us-east-1, where CloudFront takes certificates from; issued before apply goes on.
resource "homelab_acm_certificate" "home_proxy" {
  domain_name               = "home-proxy.goldentooth.net"
  subject_alternative_names = ["*.home-proxy.goldentooth.net"]

  validation {
    route53_zone_id = homelab_dynamic_dns_record.clearbrook.zone_id
  }
}

# The book also set retain_on_delete = true, which leaves a disabled distribution (still using
# the certificate) behind on destroy; this example lets destroy remove everything.
resource "homelab_cloudfront_distribution" "home_proxy" {
  aliases                  = ["home-proxy.goldentooth.net", "*.home-proxy.goldentooth.net"]
  certificate_arn          = homelab_acm_certificate.home_proxy.arn
  ssl_support_method       = "sni-only"
  minimum_protocol_version = "TLSv1.2_2019"
  price_class              = "PriceClass_100"
  cache_policy_id          = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # Managed-CachingDisabled
  origin_request_policy_id = "216adef6-5c7f-47e4-b989-5492eafa07d3" # Managed-AllViewer
  viewer_protocol_policy   = "allow-all"
  allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
  ipv6                     = false
  wait_for_deployment      = false

  origin {
    domain_name       = homelab_dynamic_dns_record.clearbrook.name
    http_port         = 7463
    https_port        = 7464
    protocol_policy   = "http-only"
    keepalive_timeout = 5
    read_timeout      = 30
  }

  geo_restriction {
    type      = "whitelist"
    locations = ["US", "CA", "GB", "DE", "DK", "ES", "FI", "FR", "HU", "IE", "NO", "SE"]
  }

  route53_aliases {
    zone_id = homelab_dynamic_dns_record.clearbrook.zone_id
  }
}
