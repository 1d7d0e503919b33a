//! `homelab_file`: a file on a host, written atomically with its owner and mode, read back on
//! every refresh so hand edits and deletions show up in the plan.

mod values;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::registry::{Context, Resource};
use crate::ssh::{self, FileWrite, SshError};
use crate::tf::plan::PlannedChange;
use crate::tf::{Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value};
use values::{
    CONTENT_SOURCES, check_path, desired_content, imported_state, sha256_hex, state_from_host,
    valid_mode,
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
                             kept in state and an imported file needs no value for it.",
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

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diagnostics = ssh::resource_config::validate_resource(config);
        if let Some(path) = config.attr("path").as_str()
            && let Err(reason) = check_path(path)
        {
            diagnostics.push(
                Diagnostic::error("Invalid path", format!("{path:?}: {reason}"))
                    .at(AttributePath::root("path")),
            );
        }
        let set: Vec<&str> = CONTENT_SOURCES
            .into_iter()
            .filter(|name| !config.attr(name).is_null())
            .collect();
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
        if let Some(text) = config.attr("content_base64").as_str()
            && let Err(e) = STANDARD.decode(text)
        {
            diagnostics.push(
                Diagnostic::error("Invalid base64", e.to_string())
                    .at(AttributePath::root("content_base64")),
            );
        }
        if let Some(mode) = config.attr("mode").as_str()
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
        for name in ["owner", "group"] {
            if let Some(value) = config.attr(name).as_str()
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

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        let planned = &mut change.planned;
        if let (Some(host), Some(path)) =
            (config.attr("host").as_str(), config.attr("path").as_str())
        {
            planned.set_attr("id", Value::from(format!("{host}:{path}")));
        }
        match desired_content(config) {
            Ok(Some(bytes)) => planned.set_attr("sha256", Value::from(sha256_hex(&bytes))),
            Ok(None) => planned.set_attr("sha256", Value::unknown()),
            Err(d) => return d.into(),
        }
        // Unset owner and group keep what the file has: an update never changes them.
        let replacing = !change.requires_replace.is_empty();
        for name in ["owner", "group"] {
            if config.attr(name).is_null() && !prior.is_null() && !replacing {
                planned.set_attr(name, prior.attr(name).clone());
            }
        }
        context
            .provider
            .ssh
            .check_connection(prior, config, &context.cancel)
            .await
    }

    async fn create(
        &self,
        context: &Context,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics> {
        write(context, planned, config).await
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let session = context.provider.ssh.session_for(state, &context.cancel)?;
        let path = required_str(state, "path")?;
        let Some(file) = session
            .read_file(path)
            .await
            .map_err(|e| failed(&session, "reading", path, e))?
        else {
            return Ok(None);
        };
        Ok(Some(state_from_host(
            state,
            &file,
            session.target().host.as_str(),
            path,
        )))
    }

    async fn update(
        &self,
        context: &Context,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Result<Value, Diagnostics> {
        let unchanged = ["sha256", "mode", "owner", "group"]
            .iter()
            .all(|name| planned.attr(name).is_known() && planned.attr(name) == prior.attr(name));
        if unchanged {
            // Only connection settings changed: the file on the host is already right; the
            // new settings must still reach the host and verify its key.
            let session = context.provider.ssh.session_for(planned, &context.cancel)?;
            session.verify().await.map_err(|e| {
                Diagnostics::from(
                    e.to_diagnostic(&format!("connecting to {}", session.target().host)),
                )
            })?;
            return Ok(planned.clone());
        }
        write(context, planned, config).await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let session = context.provider.ssh.session_for(prior, &context.cancel)?;
        let path = required_str(prior, "path")?;
        let _guard = session.lock_file(path).await;
        session
            .remove_file(path)
            .await
            .map(|_| ())
            .map_err(|e| failed(&session, "removing", path, e))
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        imported_state(&self.schema(), id)
    }
}

/// Writes the planned file (with the write-only `create_directories` from `config`); returns
/// the new state.
async fn write(context: &Context, planned: &Value, config: &Value) -> Result<Value, Diagnostics> {
    let session = context.provider.ssh.session_for(planned, &context.cancel)?;
    let path = required_str(planned, "path")?;
    let content = desired_content(planned)?.ok_or_else(|| {
        Diagnostics::from(Diagnostic::error(
            "Content not known",
            "The content must be known at apply.",
        ))
    })?;
    let sha256 = sha256_hex(&content);
    if let Some(planned_sha) = planned.attr("sha256").as_str()
        && planned_sha != sha256
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
    let mode = planned.attr("mode").as_str().unwrap_or("0644");
    let _guard = session.lock_file(path).await;
    let metadata = session
        .write_file(
            path,
            &FileWrite {
                content: &content,
                mode,
                owner: planned.attr("owner").as_str(),
                group: planned.attr("group").as_str(),
                create_directories: config.attr("create_directories").as_bool().unwrap_or(false),
            },
        )
        .await
        .map_err(|e| failed(&session, "writing", path, e))?;
    let mut state = planned.clone();
    state.set_attr("sha256", sha256.into());
    if !state.attr("owner").is_known() || state.attr("owner").is_null() {
        state.set_attr("owner", metadata.owner.into());
    }
    if !state.attr("group").is_known() || state.attr("group").is_null() {
        state.set_attr("group", metadata.group.into());
    }
    Ok(state)
}

fn failed(session: &ssh::Session<'_>, doing: &str, path: &str, e: SshError) -> Diagnostics {
    e.to_diagnostic(&format!("{doing} {path} on {}", session.target().host))
        .into()
}

fn required_str<'a>(value: &'a Value, name: &str) -> Result<&'a str, Diagnostics> {
    value.attr(name).as_str().ok_or_else(|| {
        Diagnostic::error(
            format!("{name} not known"),
            format!("{name} must be known here."),
        )
        .at(AttributePath::root(name))
        .into()
    })
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
