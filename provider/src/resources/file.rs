//! `homelab_file`: a file on a host, written atomically with its owner and mode, read back on
//! every refresh so hand edits and deletions show up in the plan.

mod model;
mod values;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::registry::{Context, Resource};
use crate::ssh::resource_config::{PlannedSshOverride, validate_host_and_ssh};
use crate::ssh::{self, FileWrite, SshError};
use crate::tf::model::{self as typed, ModelShape, Planned};
use crate::tf::plan::PlannedChange;
use crate::tf::{Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value};
use model::{FileModel, PlannedFile};
use values::{
    check_path, desired_content, imported_state, sha256_hex, state_from_host, valid_mode,
};

/// The `homelab_file` resource.
pub struct File;

#[async_trait]
impl Resource for File {
    fn type_name(&self) -> &'static str {
        "homelab_file"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block::new(
                "A file on a host, managed over SSH. It is written atomically (a temporary file \
                 in the same directory gets the content, owner, group and mode, then is renamed \
                 over the path), and every refresh reads the content and metadata back, so a \
                 hand edit shows as a diff and a deleted file is recreated. Content is sent on \
                 the command's standard input and paths as quoted arguments, so any bytes and \
                 any path round-trip exactly.",
                vec![
                    ssh::resource_config::host_attribute(),
                    Attribute::required("path", Type::String)
                        .requires_replace()
                        .describe("Absolute path of the file on the host."),
                    Attribute::optional("content", Type::String).describe(
                        "The content as UTF-8 text. Exactly one of `content`, `content_base64` \
                         and `source` is set.",
                    ),
                    Attribute::optional("content_base64", Type::String)
                        .describe("The content as base64, for bytes that are not UTF-8 text."),
                    Attribute::optional("source", Type::String).describe(
                        "A local file whose bytes are the content, read at plan time; its \
                         `sha256` in the plan changes when the local file does.",
                    ),
                    Attribute::optional("mode", Type::String)
                        .default_value("0644")
                        .describe(
                            "Permission bits in octal, e.g. `\"0640\"` or `\"4755\"`. Default: \
                             `\"0644\"`.",
                        ),
                    Attribute::optional_computed("owner", Type::String).describe(
                        "Owner, by name or numeric id. When unset, a new file belongs to the \
                         connecting user and an existing file keeps its owner.",
                    ),
                    Attribute::optional_computed("group", Type::String).describe(
                        "Group, by name or numeric id. When unset, a new file gets the \
                         connecting user's group and an existing file keeps its group.",
                    ),
                    Attribute::optional("create_directories", Type::Bool)
                        .write_only()
                        .describe(
                            "Create missing parent directories (`mkdir -p`) when writing. \
                             Write-only: it only changes how the file is written, so it is not \
                             kept in state and an imported file needs no value for it. \
                             Needs Terraform v1.11 or OpenTofu v1.11 or later.",
                        )
                        .write_only_alternative(
                            "Leave it unset, so the parent directory must already exist, or use \
                             Terraform v1.11 or OpenTofu v1.11 or later.",
                        ),
                    Attribute::computed("sha256", Type::String)
                        .describe("SHA-256 of the content, in hex; known at plan time."),
                    Attribute::computed("id", Type::String)
                        .use_state_for_unknown()
                        .describe("`host:path`, the import ID."),
                ],
            )
            .with_block(ssh::resource_config::resource_block()),
        }
    }

    fn models(&self) -> Vec<ModelShape> {
        vec![
            ModelShape::of::<FileModel>(),
            ModelShape::of::<PlannedFile>(),
        ]
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        match typed::from_value::<PlannedFile>(config) {
            Ok(config) => validate(&config),
            Err(e) => e.into(),
        }
    }

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        plan(context, prior, config, change)
            .await
            .unwrap_or_else(|diagnostics| diagnostics)
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics> {
        let planned: FileModel = typed::from_planned_value(planned)?;
        let config: FileModel = typed::from_value(config)?;
        let session = session(context, &planned)?;
        let state = write(&session, planned, config.create_directories).await?;
        Ok(typed::to_value(&state, &state_type())?)
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let state: FileModel = typed::from_value(state)?;
        let session = session(context, &state)?;
        let path = &state.path;
        let Some(file) = session
            .read_file(path)
            .await
            .map_err(|e| failed(&session, "reading", path, e))?
        else {
            return Ok(None);
        };
        let new = state_from_host(&state, &file, session.target().host.as_str(), path);
        Ok(Some(typed::to_value(&new, &state_type())?))
    }

    async fn update(
        &self,
        context: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics> {
        let prior: FileModel = typed::from_value(prior)?;
        let planned: FileModel = typed::from_planned_value(planned)?;
        let config: FileModel = typed::from_value(config)?;
        let session = session(context, &planned)?;
        let unchanged = planned.sha256 == prior.sha256
            && planned.mode == prior.mode
            && planned.owner == prior.owner
            && planned.group == prior.group;
        if unchanged {
            // Only connection settings changed: the file on the host is already right; the
            // new settings must still reach the host and verify its key.
            session.verify().await.map_err(|e| {
                Diagnostics::from(
                    e.to_diagnostic(&format!("connecting to {}", session.target().host)),
                )
            })?;
            return Ok(typed::to_value(&planned, &state_type())?);
        }
        let state = write(&session, planned, config.create_directories).await?;
        Ok(typed::to_value(&state, &state_type())?)
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let prior: FileModel = typed::from_value(prior)?;
        let session = session(context, &prior)?;
        let path = &prior.path;
        let _guard = session.lock_file(path).await;
        session
            .remove_file(path)
            .await
            .map(|_| ())
            .map_err(|e| failed(&session, "removing", path, e))
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        Ok(typed::to_value(&imported_state(id)?, &state_type())?)
    }
}

/// The object type of `homelab_file`'s values.
fn state_type() -> Type {
    File.schema().block.value_type()
}

/// The one session of an RPC, to the model's host with its `ssh` settings.
fn session<'a>(context: &'a Context, file: &FileModel) -> Result<ssh::Session<'a>, Diagnostics> {
    context
        .provider
        .ssh
        .session_to(&file.host, file.ssh.as_ref(), &context.cancel)
}

fn validate(config: &PlannedFile) -> Diagnostics {
    let mut diagnostics = validate_host_and_ssh(
        config.host.known().map(String::as_str),
        config.ssh.known().and_then(Option::as_ref),
    );
    if let Some(path) = config.path.known()
        && let Err(reason) = check_path(path)
    {
        diagnostics.push(
            Diagnostic::error("Invalid path", format!("{path:?}: {reason}"))
                .at(AttributePath::root("path")),
        );
    }
    let set = config.content_attributes_set();
    if set.len() != 1 {
        diagnostics.push(Diagnostic::error(
            "Exactly one content attribute required",
            format!(
                "Set exactly one of content, content_base64 and source; {} set.",
                if set.is_empty() {
                    "none is".to_owned()
                } else {
                    format!("{} are", set.join(" and "))
                }
            ),
        ));
    }
    if let Some(text) = config.content_base64.as_str()
        && let Err(e) = STANDARD.decode(text)
    {
        diagnostics.push(
            Diagnostic::error("Invalid base64", e.to_string())
                .at(AttributePath::root("content_base64")),
        );
    }
    if let Some(mode) = config.mode.as_str()
        && !valid_mode(mode)
    {
        diagnostics.push(
            Diagnostic::error(
                "Invalid mode",
                format!("{mode:?} is not an octal mode like \"0644\" (3 or 4 digits 0-7)"),
            )
            .at(AttributePath::root("mode")),
        );
    }
    for (name, value) in [("owner", &config.owner), ("group", &config.group)] {
        if let Some(value) = value.as_str()
            && (value.is_empty() || value.contains(|c: char| c == ':' || c.is_whitespace()))
        {
            diagnostics.push(
                Diagnostic::error(
                    format!("Invalid {name}"),
                    format!("{value:?} is not a user or group name or id"),
                )
                .at(AttributePath::root(name)),
            );
        }
    }
    diagnostics
}

/// Plans `id`, `sha256` and unset `owner`/`group`, then tries new connection settings.
async fn plan(
    context: &Context,
    prior: &Value,
    config: &Value,
    change: &mut PlannedChange,
) -> Result<Diagnostics, Diagnostics> {
    let config: PlannedFile = typed::from_value(config)?;
    let prior: Option<FileModel> = typed::from_value(prior)?;
    let mut planned: PlannedFile = typed::from_value(&change.planned)?;
    if let (Some(host), Some(path)) = (config.host.known(), config.path.known()) {
        planned.id = Planned::Known(Some(format!("{host}:{path}")));
    }
    planned.sha256 = match desired_content(config.content()) {
        Ok(Some(bytes)) => Planned::Known(Some(sha256_hex(&bytes))),
        Ok(None) => Planned::Unknown,
        Err(d) => return Err(d.into()),
    };
    // Unset owner and group keep what the file has: an update never changes them.
    let replacing = !change.requires_replace.is_empty();
    if let Some(prior) = &prior
        && !replacing
    {
        if config.owner.is_null() {
            planned.owner = Planned::Known(prior.owner.clone());
        }
        if config.group.is_null() {
            planned.group = Planned::Known(prior.group.clone());
        }
    }
    change.planned = typed::to_planned_value(&planned, &state_type(), &change.planned)?;
    Ok(check_connection(context, prior.as_ref(), &config).await)
}

/// New or changed connection settings are tried at plan time, so a wrong pinned key, an unknown
/// host key or an unreachable host fails the plan instead of the apply. Unchanged settings were
/// just used by the refresh.
async fn check_connection(
    context: &Context,
    prior: Option<&FileModel>,
    config: &PlannedFile,
) -> Diagnostics {
    let changed = prior.is_none_or(|prior| {
        config.host != Planned::Known(prior.host.clone())
            || config.ssh != Planned::Known(prior.ssh.as_ref().map(PlannedSshOverride::from))
    });
    let (Planned::Known(host), Ok(ssh)) = (&config.host, config.known_ssh()) else {
        return Diagnostics::new();
    };
    if !changed {
        return Diagnostics::new();
    }
    let session = match context
        .provider
        .ssh
        .session_to(host, ssh.as_ref(), &context.cancel)
    {
        Ok(session) => session,
        Err(d) => return d,
    };
    match session.verify().await {
        Ok(()) => Diagnostics::new(),
        Err(e) => e
            .to_diagnostic(&format!("connecting to {}", session.target().host))
            .into(),
    }
}

/// Writes the planned file (with the write-only `create_directories` from configuration);
/// returns the new state.
async fn write(
    session: &ssh::Session<'_>,
    planned: FileModel,
    create_directories: Option<bool>,
) -> Result<FileModel, Diagnostics> {
    let path = &planned.path;
    let content = desired_content(planned.content())?.ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            "Content not known",
            "The content must be known at apply.",
        ))
    })?;
    let sha256 = sha256_hex(&content);
    if let Some(planned_sha) = &planned.sha256
        && *planned_sha != sha256
    {
        return Err(Diagnostic::error(
            "Content changed since plan",
            format!(
                "The content of {path} hashes to {sha256} now, but the plan was made for \
                 {planned_sha} (a `source` file changed between plan and apply). Plan again."
            ),
        )
        .at(AttributePath::root("source"))
        .into());
    }
    let mode = planned.mode.as_deref().unwrap_or("0644");
    let _guard = session.lock_file(path).await;
    let metadata = session
        .write_file(
            path,
            &FileWrite {
                content: &content,
                mode,
                owner: planned.owner.as_deref(),
                group: planned.group.as_deref(),
                create_directories: create_directories.unwrap_or(false),
            },
        )
        .await
        .map_err(|e| failed(session, "writing", path, e))?;
    let mut state = planned.clone();
    state.sha256 = Some(sha256);
    state.owner.get_or_insert(metadata.owner);
    state.group.get_or_insert(metadata.group);
    Ok(state)
}

fn failed(session: &ssh::Session<'_>, doing: &str, path: &str, e: SshError) -> Diagnostics {
    e.to_diagnostic(&format!("{doing} {path} on {}", session.target().host))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: Vec<(&str, Value)>) -> Value {
        let mut base = Value::object([
            ("host", Value::from("10.4.0.10")),
            ("path", "/etc/motd".into()),
        ]);
        for (name, value) in pairs {
            base.set_attr(name, value);
        }
        base
    }

    #[test]
    fn exactly_one_content_attribute_and_valid_values_are_required() {
        assert!(
            File.validate(&config(vec![("content", "hi".into())]))
                .is_empty()
        );
        assert!(File.validate(&config(vec![])).has_errors());
        assert!(
            File.validate(&config(vec![
                ("content", "a".into()),
                ("source", "/x".into())
            ]))
            .has_errors()
        );
        let bad = File.validate(&config(vec![
            ("path", "etc/motd".into()),
            ("content_base64", "%%%".into()),
            ("mode", "0999".into()),
            ("owner", "root:root".into()),
        ]));
        let paths: Vec<String> = bad
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(ToString::to_string))
            .collect();
        assert_eq!(paths, ["path", "content_base64", "mode", "owner"]);
        assert!(
            File.validate(&config(vec![
                ("content", Value::unknown()),
                ("path", Value::unknown())
            ]))
            .is_empty()
        );
    }
}
