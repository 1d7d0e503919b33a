# A distribution is imported by its id; the hosted zone holding its alias records is found.
terraform import homelab_cloudfront_distribution.home_proxy E2QWRUHAPOMQZL
