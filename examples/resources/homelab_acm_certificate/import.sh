# A certificate is imported by its ARN; the hosted zone holding its validation records is found.
terraform import homelab_acm_certificate.home_proxy arn:aws:acm:us-east-1:123456789012:certificate/0b6c2a5e-1111-2222-3333-444455556666
