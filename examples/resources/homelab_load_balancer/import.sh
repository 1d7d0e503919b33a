# The host HAProxy runs on; the configuration is read back from /etc/haproxy/haproxy.cfg.
tofu import homelab_load_balancer.k8s_api 10.4.0.10
