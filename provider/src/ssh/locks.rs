//! Host-wide locks that several resources share: the paths their per-host file locks
//! ([`super::Session::lock_file`]) are keyed by.

/// dpkg's front-end lock: every apt or dpkg change on a host, whichever resource makes it
/// (`homelab_apt_repository`, `homelab_packages`), is serialized on it.
pub const APT_LOCK: &str = "/var/lib/dpkg/lock-frontend";
