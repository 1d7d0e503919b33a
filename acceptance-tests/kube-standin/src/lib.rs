//! The lab's Kubernetes stand-in: `kubeadm`, `kubelet` and `kube-apiserver` that behave like the
//! real ones wherever the provider touches them and refuse what the real ones refuse, with the
//! same messages (shared/KUBEADM.md). Each binary in `src/bin/` is a thin entry point into one
//! module here.

pub mod clock;
