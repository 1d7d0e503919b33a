# kubelet, kubeadm and kubectl pinned and held, as kubeadm's install guide asks. With the
# repository managed in the same configuration, set
# `repositories = [homelab_apt_repository.kubernetes.index_sha256]` so the plan-time
# availability check waits for the repository whenever it changes.
resource "homelab_packages" "kubernetes" {
  host = "10.4.0.10"

  packages = {
    kubelet = { version = "1.30.2-1.1", hold = true }
    kubeadm = { version = "1.30.2-1.1", hold = true }
    kubectl = { version = "1.30.2-1.1", hold = true }
    jq      = {}
    snapd   = { state = "absent" }
  }
}
