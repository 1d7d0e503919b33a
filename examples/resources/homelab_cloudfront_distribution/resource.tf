variable "goldentooth_zone_id" {
  description = "Id of the Route53 hosted zone goldentooth.net."
  type        = string
}

variable "home_proxy_certificate_arn" {
  description = "ARN of the certificate for home-proxy.goldentooth.net and its wildcard, in us-east-1 (see homelab_acm_certificate)."
  type        = string
}

# The book's home proxy: CloudFront in front of the home's dynamic name on port 7463, caching
# disabled, every viewer header, cookie and query string forwarded, a country allow list, and
# alias records for both names.
resource "homelab_cloudfront_distribution" "home_proxy" {
  aliases                  = ["home-proxy.goldentooth.net", "*.home-proxy.goldentooth.net"]
  certificate_arn          = var.home_proxy_certificate_arn
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
    domain_name       = "clearbrook.goldentooth.net"
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
    zone_id = var.goldentooth_zone_id
  }
}

output "home_proxy_domain_name" {
  value = homelab_cloudfront_distribution.home_proxy.domain_name
}
