# The Kubernetes package repository on the first node, as kubeadm's install guide sets it up:
# a flat repository signed by its own key, trusted for this repository only.
resource "homelab_apt_repository" "kubernetes" {
  host        = "10.4.0.10"
  name        = "kubernetes"
  uris        = ["https://pkgs.k8s.io/core:/stable:/v1.30/deb/"]
  suites      = ["/"]
  signing_key = file("${path.module}/kubernetes-release.asc")
}

# A distribution-style repository with components, limited to one architecture.
resource "homelab_apt_repository" "frr" {
  host          = "10.4.0.1"
  name          = "frr"
  uris          = ["https://deb.frrouting.org/frr"]
  suites        = ["bookworm"]
  components    = ["frr-8"]
  architectures = ["arm64"]
  signing_key   = file("${path.module}/frr.asc")
}
