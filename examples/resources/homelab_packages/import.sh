# HOST:NAME[=VERSION],... with the pins the configuration has; holds and states are read back.
tofu import homelab_packages.kubernetes 10.4.0.10:kubelet=1.30.2-1.1,kubeadm=1.30.2-1.1,kubectl=1.30.2-1.1,jq,snapd
