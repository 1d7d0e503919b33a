//! `homelab_nfs_export`'s schema: the attributes and their documentation.

use crate::ssh::resource_config;
use crate::tf::{Attribute, Block, NestedBlock, NestingMode, Schema, Type};

/// The nested block that asks for the directory to be created.
pub(super) const CREATE_PATH: &str = "create_path";

/// The mode a created directory gets when `create_path` sets none.
pub(super) const DEFAULT_DIRECTORY_MODE: &str = "0755";

pub(super) fn schema() -> Schema {
    let clients = Attribute {
        required: true,
        ..Attribute::nested(
            "clients",
            NestingMode::List,
            vec![
                Attribute::required("client", Type::String).describe(
                    "Who may mount: `*` (everyone), a host name (wildcards `*` and `?` \
                     allowed), an IP address, a network (`10.4.0.0/24`, `fd00::/64` or \
                     `10.4.0.0/255.255.255.0`) or `@netgroup`. A host name must resolve on the \
                     server, or exportfs drops the client and the apply fails with its message.",
                ),
                Attribute::optional("options", Type::list(Type::String)).describe(
                    "Export options from exports(5), one per element, e.g. `[\"rw\", \"sync\", \
                     \"no_root_squash\", \"no_subtree_check\"]`. Checked at plan time: unknown \
                     names, bad values (`fsid`, `anonuid`, `sec`), and contradictory pairs \
                     (`rw`/`ro`, `sync`/`async`, `root_squash`/`no_root_squash`, …) are \
                     errors, and leaving out both `subtree_check` and `no_subtree_check` gives \
                     exportfs's own warning. Your spelling is kept: `auth_nlm` and \
                     `secure_locks`, or a list that only adds defaults, mean the same and cause \
                     no diff. Unset: exportfs's defaults (`ro`, `sync`, `root_squash`, …).",
                ),
            ],
        )
    }
    .describe(
        "The clients and their options, in the order they are written on the export's line; a \
         client may appear once.",
    );
    let create_path = Block::new(
        "Create the directory when it is missing (`mkdir -p`), with this mode and owner. An \
         existing directory is left exactly as it is (it is often a mount point whose \
         filesystem sets its own owner and mode), and these values are not read back.",
        vec![
            Attribute::optional("mode", Type::String)
                .default_value(DEFAULT_DIRECTORY_MODE)
                .describe("Permission bits in octal. Default: `\"0755\"`."),
            Attribute::optional("owner", Type::String)
                .describe("Owner, by name or numeric id. Default: the connecting user."),
            Attribute::optional("group", Type::String)
                .describe("Group, by name or numeric id. Default: the connecting user's group."),
        ],
    );
    Schema {
        version: 0,
        block: Block::new(
            "An NFS export: one directory and its clients, kept in its own file under \
             `/etc/exports.d` (named after the directory, `systemd-escape --path` style: \
             `/mnt/usb1` is `mnt-usb1.exports`), so other exports and `/etc/exports` are never \
             rewritten. The file is written atomically and activated with `exportfs -ra`; when \
             exportfs refuses it or the live table does not show every client afterwards, the \
             previous file is restored and activated again and the apply fails with \
             exportfs's own message. Refresh reads the file and the live table \
             (`/var/lib/nfs/etab`): a hand edit shows as a diff of `clients`, a removed file \
             or directory as the export being created again, and a client missing from the \
             live table (`exportfs -u` by hand) or exported there with other options as \
             `active` changing to true. Changes of exports on one host are made one at a \
             time. Delete removes the file and unexports with `exportfs -ra`. Import with \
             `HOST:PATH`. The server needs nfs-kernel-server (for exportfs); serving also \
             needs the kernel's NFS server.",
            vec![
                resource_config::host_attribute()
                    .describe("The NFS server's name or address, as SSH connects to it."),
                Attribute::required("path", Type::String)
                    .requires_replace()
                    .describe(
                        "The exported directory: absolute and normalized. Any other \
                         character is allowed; it is written `\\ooo`-escaped so exportfs reads \
                         it back exactly.",
                    ),
                clients,
                Attribute::computed("file", Type::String).describe(
                    "The drop-in file holding the export, e.g. `/etc/exports.d/mnt-usb1.exports`.",
                ),
                Attribute::computed("active", Type::Bool).describe(
                    "Whether exportfs's live table shows every client with the options asked \
                     for. Always planned as true: when a refresh finds it false, the plan \
                     shows the change and apply exports again.",
                ),
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .describe("`host:path`, the import ID."),
            ],
        )
        .with_block(resource_config::resource_block())
        .with_block(NestedBlock::single(CREATE_PATH, create_path)),
    }
}
