//! The lab hosts both tools converge: how each is prepared before a round (the same for both),
//! and the checks, made with OpenSSH's own client, that a converged host really has the book's
//! baseline.

use std::io::Write;
use std::process::{Output, Stdio};
use std::thread;

use acceptance_tests::apt_repo::PackageSpec;
use acceptance_tests::lab::{Host, Lab};

/// The book's node names; the benchmark uses as many as it has hosts.
pub(crate) const NODE_NAMES: [&str; 10] = [
    "allyrion",
    "bettley",
    "cargyll",
    "dalt",
    "erenford",
    "fenn",
    "gardener",
    "harlton",
    "inchfield",
    "jast",
];

/// The image's packages: what `homelab_node` needs (as in tests/node.rs), and python3 with the
/// libraries Ansible's `apt` and `deb822_repository` modules import on the host (without them
/// the modules try to install them, which needs the internet the hosts do not have).
pub(crate) const PACKAGES: &[&str] = &[
    "kmod",
    "procps",
    "tzdata",
    "python3",
    "python3-apt",
    "python3-debian",
];

/// The version both tools pin, as pkgs.k8s.io spells v1.29.3's.
pub(crate) const KUBERNETES_VERSION: &str = "1.29.3-1.1";

/// The stand-ins for pkgs.k8s.io's packages the lab's repository serves.
pub(crate) const KUBERNETES_PACKAGES: &[PackageSpec] = &[
    ("kubeadm", KUBERNETES_VERSION, ""),
    ("kubelet", KUBERNETES_VERSION, ""),
    ("kubectl", KUBERNETES_VERSION, ""),
];

/// The operator's key both tools add to root's authorized_keys.
const OPERATOR_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHa3NtCiafqzASp4vc46xcG1FepcMD2cP5Z+oiTv0gE5 operator@goldentooth";

/// Makes a fresh container what a Raspberry Pi OS node would be in the ways either tool can see,
/// exactly as tests/node.rs does (the lab already gives it a writable `/proc/sys/net` and the
/// modules this kernel has built in; this adds the Pi's boot files, a swap line and an enabled
/// swap unit), and removes Debian's mirror from apt's sources: the hosts cannot reach it, so the
/// lab's repository is the only source, as on an air-gapped node.
const PREPARE: &str = r#"set -e
mkdir -p /boot/firmware
printf '%s\n' '# For more options see http://rptl.io/configtxt' dtparam=audio=on camera_auto_detect=1 '[all]' > /boot/firmware/config.txt
echo 'console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait' > /boot/firmware/cmdline.txt
echo '/var/swap none swap sw 0 0' >> /etc/fstab
printf '[Unit]\nDescription=Swap file (stand-in)\n[Service]\nType=oneshot\nExecStart=/bin/true\nRemainAfterExit=yes\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/dphys-swapfile.service
systemctl daemon-reload && systemctl enable --now dphys-swapfile.service 2>/dev/null
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
"#;

/// The baseline as a user would check it by hand; prints one `FAIL: …` line per miss. `$1` is
/// the node's name, then the version, the operator's key, and `ADDRESS NAME` pairs of every node.
const VERIFY: &str = r#"name=$1 version=$2 key=$3; shift 3
fail() { echo "FAIL: $*"; }
[ "$(hostname)" = "$name" ] || fail "hostname is $(hostname)"
[ "$(cat /etc/hostname)" = "$name" ] || fail "/etc/hostname"
grep -Eq "^127\.0\.1\.1[[:space:]]+$name\$" /etc/hosts || fail "no 127.0.1.1 line for $name"
while [ $# -gt 0 ]; do
  # The node's own name resolves to 127.0.1.1 first, as it should.
  if [ "$2" != "$name" ]; then
    [ "$(getent hosts "$2" | cut -d' ' -f1)" = "$1" ] || fail "$2 does not resolve to $1"
  fi
  grep -Eq "^$1[[:space:]]+$2 $2\.goldentooth\.net( |\$)" /etc/hosts || fail "no cluster line for $2"
  shift 2
done
getent hosts lb-apiserver.kubernetes.local >/dev/null || fail "no lb-apiserver.kubernetes.local"
[ "$(readlink /etc/localtime)" = /usr/share/zoneinfo/America/New_York ] || fail "localtime"
[ "$(cat /etc/timezone)" = America/New_York ] || fail "/etc/timezone"
[ -z "$(swapon --show --noheadings)" ] || fail "swap active"
grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab && fail "fstab swap line in force"
[ "$(systemctl is-enabled dphys-swapfile.service)" = disabled ] || fail "dphys-swapfile enabled"
for m in overlay br_netfilter; do
  grep -rqx "$m" /etc/modules-load.d/ || fail "module $m not loaded at boot"
done
for k in net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.ipv4.ip_forward; do
  [ "$(sysctl -n $k)" = 1 ] || fail "$k is $(sysctl -n $k)"
  grep -rEq "^$k *= *1\$" /etc/sysctl.d/ || fail "$k not set at boot"
done
grep -qxF "$key" /root/.ssh/authorized_keys || fail "operator key missing"
for line in dtoverlay=gpio-fan,gpiopin=14,temp=60 arm_boost=1 arm_freq=2000 over_voltage=6; do
  grep -qxF "$line" /boot/firmware/config.txt || fail "config.txt lacks $line"
done
[ "$(wc -l < /boot/firmware/cmdline.txt)" = 1 ] || fail "cmdline.txt is not one line"
for flag in cgroup_enable=cpuset cgroup_enable=memory cgroup_enable=hugetlb cgroup_memory=1 rootwait; do
  [ "$(tr ' ' '\n' < /boot/firmware/cmdline.txt | grep -cxF "$flag")" = 1 ] || fail "cmdline.txt: $flag"
done
grep -q '^Signed-By: /etc/apt/keyrings/kubernetes.asc$' /etc/apt/sources.list.d/kubernetes.sources || fail "kubernetes.sources"
for p in kubeadm kubelet kubectl; do
  found=$(dpkg-query -W -f '${Version} ${db:Status-Status}' $p 2>&1)
  [ "$found" = "$version installed" ] || fail "$p not installed at $version: $found"
  apt-mark showhold | grep -qx $p || fail "$p not held"
done
true
"#;

/// Prepares every host of `lab` at once.
pub(crate) fn prepare(lab: &Lab) {
    on_every_host(lab, |host| {
        let output = run(lab, host, PREPARE, &[]);
        assert!(
            output.status.success(),
            "preparing {}: {}",
            host.name,
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// Panics unless every host has the baseline; `who` names the tool that converged them.
pub(crate) fn verify(lab: &Lab, who: &str) {
    let pairs: Vec<String> = lab
        .hosts()
        .iter()
        .zip(NODE_NAMES)
        .flat_map(|(host, name)| [host.address.to_string(), name.to_owned()])
        .collect();
    on_every_host(lab, |host| {
        let index = lab.hosts().iter().position(|h| h == host).expect("a host");
        let mut args = vec![
            NODE_NAMES[index].to_owned(),
            KUBERNETES_VERSION.to_owned(),
            OPERATOR_KEY.to_owned(),
        ];
        args.extend(pairs.iter().cloned());
        let output = run(lab, host, VERIFY, &args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.trim().is_empty(),
            "after {who}, {} ({}) lacks the baseline:\n{stdout}{}",
            NODE_NAMES[index],
            host.name,
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// SSH logins each host's sshd accepted so far (see `Lab::accepted_ssh_logins`).
pub(crate) fn logins(lab: &Lab) -> Vec<usize> {
    lab.hosts()
        .iter()
        .map(|host| lab.accepted_ssh_logins(host).expect("read sshd's log"))
        .collect()
}

fn on_every_host(lab: &Lab, check: impl Fn(&Host) + Sync) {
    thread::scope(|scope| {
        for host in lab.hosts() {
            let check = &check;
            scope.spawn(move || check(host));
        }
    });
}

/// Runs `script` with `sh -s` on `host`, the script on standard input and `args` as `$1`…
/// (single-quoted for the remote shell).
fn run(lab: &Lab, host: &Host, script: &str, args: &[String]) -> Output {
    let mut remote = "sh -s --".to_owned();
    for arg in args {
        remote.push(' ');
        remote.push_str(&format!("'{}'", arg.replace('\'', "'\\''")));
    }
    let mut child = lab
        .ssh(host)
        .arg(remote)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ssh");
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes());
    child.wait_with_output().expect("wait for ssh")
}
