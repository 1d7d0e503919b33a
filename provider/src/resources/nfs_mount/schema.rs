//! `homelab_nfs_mount`'s schema: the attributes and their documentation.

use crate::ssh::resource_config;
use crate::tf::{Attribute, Block, Schema, Type};

pub(super) fn schema() -> Schema {
    Schema {
        version: 0,
        block: Block::new(
            "An NFS mount on a client host, as systemd units named by the escaped mount point \
             (`/mnt/nfs` is `mnt-nfs.mount`, plus `mnt-nfs.automount` with `automount`), \
             written atomically to `/etc/systemd/system`, then `daemon-reload`, `enable` and \
             `start` (of the `.automount` unit when `automount` is true, which mounts on first \
             access). When systemd cannot start the unit, the previous unit files (or none) \
             are put back and the apply fails with systemd's and mount's own messages. Refresh \
             reads the unit files and systemd's view: a hand edit shows as a diff, a removed \
             unit as the mount being created again, and a unit stopped or disabled by hand as \
             `active` or `enabled` changing to true. Delete stops, disables and removes the \
             units. Import with `HOST:MOUNT_POINT`. The client needs nfs-common (mount.nfs). \
             Before anything changes, plan (and apply, where plan could not know the host) \
             asks the client what it can do: a kernel without the NFS client (`fs_type` \
             neither in `/proc/filesystems` nor loadable) fails on `fs_type`, and `automount` \
             on a host without `/dev/autofs` (systemd refuses `.automount` units there) fails \
             on `automount`; a missing mount.nfs is a warning.",
            vec![
                resource_config::host_attribute()
                    .describe("The client host's name or address, as SSH connects to it."),
                Attribute::required("server", Type::String).describe(
                    "The NFS server's host name or IPv4 or IPv6 address (IPv6 without \
                     brackets), as the client reaches it.",
                ),
                Attribute::required("export", Type::String)
                    .describe("The exported directory on the server, e.g. `/mnt/usb1`."),
                Attribute::required("mount_point", Type::String)
                    .requires_replace()
                    .describe(
                        "Where to mount: absolute, normalized, not `/`. It names the units, so \
                         changing it replaces the mount. systemd creates the directory.",
                    ),
                Attribute::optional("options", Type::list(Type::String)).describe(
                    "Mount options, one per element (`[\"rw\", \"hard\", \"vers=4.2\"]`), \
                     written to `Options=`; no spaces, commas, quotes or backslashes in an \
                     element. Unset: no `Options=` line (mount.nfs's defaults).",
                ),
                Attribute::optional("fs_type", Type::String)
                    .default_value("nfs")
                    .describe("`nfs` or `nfs4`. Default: `\"nfs\"`."),
                Attribute::optional("automount", Type::Bool)
                    .default_value(false)
                    .describe(
                        "Mount on first access through a `.automount` unit (enabled and \
                         started) instead of mounting at once. Default: `false`.",
                    ),
                Attribute::computed("unit_name", Type::String)
                    .describe("The `.mount` unit's name, e.g. `mnt-nfs.mount`."),
                Attribute::computed("enabled", Type::Bool).describe(
                    "Whether systemd has the started unit (`.automount` with `automount`, else \
                     `.mount`) enabled. Always planned as true, so one disabled by hand shows \
                     in the plan.",
                ),
                Attribute::computed("active", Type::Bool).describe(
                    "Whether that unit is active. Always planned as true, so one stopped by \
                     hand shows in the plan.",
                ),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("`host:mount_point`, the import ID."),
            ],
        )
        .with_block(resource_config::resource_block()),
    }
}

/// The object type of `homelab_nfs_mount`'s values.
pub(super) fn state_type() -> Type {
    schema().block.value_type()
}
