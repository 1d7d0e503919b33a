# HOST:NAME, where NAME is the file stem of /etc/apt/sources.list.d/NAME.sources.
tofu import homelab_apt_repository.kubernetes 10.4.0.10:kubernetes
