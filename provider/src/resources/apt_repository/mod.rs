//! `homelab_apt_repository`: a deb822 `.sources` file and its signing key on a host, with this
//! repository's package lists refreshed whenever either changes.
//!
//! `schema.rs` holds the schema and the checks without I/O, `sources.rs` the `.sources` format,
//! and `files.rs` the host side: write with refresh and rollback, read, remove.

mod files;
mod schema;
mod sources;

use async_trait::async_trait;

use self::files::{OnHost, WriteError};
use self::sources::{Sources, key_path, sha256_hex, sources_path};
use crate::registry::{Context, Resource};
use crate::ssh::APT_LOCK;
use crate::ssh::Session;
use crate::ssh::resource_config::split_host;
use crate::tf::plan::PlannedChange;
use crate::tf::{AttributePath, Diagnostic, Diagnostics, Schema, Value, timeouts};

/// The `homelab_apt_repository` resource.
pub struct AptRepository;

#[async_trait]
impl Resource for AptRepository {
    fn type_name(&self) -> &'static str {
        "homelab_apt_repository"
    }

    fn schema(&self) -> Schema {
        schema::schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        schema::validate(config)
    }

    async fn modify_plan(
        &self,
        context: &Context,
        prior: &Value,
        config: &Value,
        change: &mut PlannedChange,
    ) -> Diagnostics {
        let planned = &mut change.planned;
        if planned.is_null() {
            return Diagnostics::new();
        }
        if let (Some(host), Some(name)) =
            (config.attr("host").as_str(), config.attr("name").as_str())
        {
            planned.set_attr("id", format!("{host}:{name}").into());
            planned.set_attr("sources_path", sources_path(name).into());
            planned.set_attr("key_path", key_path(name).into());
        }
        let sources_sha256 = desired_sources(planned).map(|s| sha256_hex(s.render().as_bytes()));
        planned.set_attr(
            "sources_sha256",
            sources_sha256
                .clone()
                .map_or_else(Value::unknown, Value::from),
        );
        // The indexes change exactly when the files do (the apply refreshes them then).
        let files_change = prior.is_null()
            || sources_sha256.as_deref() != prior.attr("sources_sha256").as_str()
            || !planned
                .attr("signing_key")
                .semantically_equal(prior.attr("signing_key"));
        planned.set_attr(
            "index_sha256",
            if files_change {
                Value::unknown()
            } else {
                prior.attr("index_sha256").clone()
            },
        );
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
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        write(context, planned, "create").await
    }

    async fn read(&self, context: &Context, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let session = context.provider.ssh.session_for(state, &context.cancel)?;
        let name = required_name(state)?;
        let found = files::read(&session, &sources_path(name), &key_path(name))
            .await
            .map_err(|e| failed(&session, "reading", name, e.to_string()))?;
        Ok(found.map(|on_host| state_from_host(state, session.target().host.as_str(), &on_host)))
    }

    async fn update(
        &self,
        context: &Context,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> Result<Value, Diagnostics> {
        let files_unchanged = planned.attr("sources_sha256") == prior.attr("sources_sha256")
            && planned.attr("signing_key") == prior.attr("signing_key")
            && planned.attr("index_sha256").is_known();
        if files_unchanged {
            // Only connection settings or timeouts changed; they must still reach the host.
            let session = context.provider.ssh.session_for(planned, &context.cancel)?;
            session.verify().await.map_err(|e| {
                Diagnostics::from(
                    e.to_diagnostic(&format!("connecting to {}", session.target().host)),
                )
            })?;
            return Ok(planned.clone());
        }
        write(context, planned, "update").await
    }

    async fn delete(&self, context: &Context, prior: &Value) -> Result<(), Diagnostics> {
        let session = context.provider.ssh.session_for(prior, &context.cancel)?;
        let name = required_name(prior)?;
        let timeout = timeouts::timeout(prior, "delete", schema::DEFAULT_TIMEOUT);
        let _guard = session.lock_file(APT_LOCK).await;
        files::remove(&session, &sources_path(name), &key_path(name), timeout)
            .await
            .map_err(|e| failed(&session, "removing", name, e.to_string()))
    }

    async fn import(&self, _context: &Context, id: &str) -> Result<Value, Diagnostics> {
        let parsed = split_host(id).filter(|(_, name)| sources::check_name(name).is_ok());
        let Some((host, name)) = parsed else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?} is not HOST:NAME, e.g. 10.4.0.10:kubernetes"),
            )
            .into());
        };
        let mut state = self.schema().block.null_value();
        state.set_attr("host", host.into());
        state.set_attr("name", name.into());
        state.set_attr("id", id.into());
        Ok(state)
    }
}

/// The `.sources` file a plan or state asks for, when all its values are known.
fn desired_sources(value: &Value) -> Option<Sources> {
    let words = |name: &str| -> Option<Vec<String>> {
        match value.attr(name) {
            Value::Null => Some(Vec::new()),
            list => list
                .as_elements()?
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect(),
        }
    };
    Some(Sources {
        uris: words("uris")?,
        suites: words("suites")?,
        components: words("components")?,
        architectures: words("architectures")?,
        enabled: value.attr("enabled").as_bool()?,
        signed_by: Some(key_path(value.attr("name").as_str()?)),
    })
}

/// Writes the planned files, refreshes the repository's lists, and reads the result back.
async fn write(context: &Context, planned: &Value, operation: &str) -> Result<Value, Diagnostics> {
    let session = context.provider.ssh.session_for(planned, &context.cancel)?;
    let name = required_name(planned)?;
    let (Some(sources), Some(key)) = (
        desired_sources(planned),
        planned.attr("signing_key").as_str(),
    ) else {
        return Err(Diagnostic::error(
            "Values not known",
            "Every value of the repository must be known at apply.",
        )
        .into());
    };
    let timeout = timeouts::timeout(planned, operation, schema::DEFAULT_TIMEOUT);
    let (sources_file, key_file) = (sources_path(name), key_path(name));
    let _guard = session.lock_file(APT_LOCK).await;
    files::write(
        &session,
        &sources_file,
        &key_file,
        &sources.render(),
        key.as_bytes(),
        timeout,
    )
    .await
    .map_err(|e| match e {
        WriteError::AptRefused(message) => Diagnostics::from(
            Diagnostic::error(
                "apt cannot use the repository",
                format!(
                    "apt-get update of {sources_file} on {} failed, so the previous files were \
                     put back and nothing changed:\n{message}",
                    session.target().host
                ),
            )
            .at(AttributePath::root("uris")),
        ),
        WriteError::Ssh(e) => failed(&session, "writing", name, e.to_string()),
    })?;
    let on_host = files::read(&session, &sources_file, &key_file)
        .await
        .map_err(|e| failed(&session, "reading", name, e.to_string()))?
        .ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Repository vanished",
                format!("{sources_file} was written but is gone on re-reading it."),
            ))
        })?;
    Ok(state_from_host(
        planned,
        session.target().host.as_str(),
        &on_host,
    ))
}

/// The state as the host has it, keeping what only Terraform knows (connection settings,
/// timeouts).
fn state_from_host(state: &Value, host: &str, on_host: &OnHost) -> Value {
    let mut new = state.clone();
    let name = state.attr("name").as_str().unwrap_or_default().to_owned();
    let parsed = Sources::parse(&String::from_utf8_lossy(&on_host.sources));
    let list = |values: Vec<String>, null_when_empty: bool| {
        if values.is_empty() && null_when_empty {
            Value::Null
        } else {
            Value::List(values.into_iter().map(Value::from).collect())
        }
    };
    new.set_attr("uris", list(parsed.uris, false));
    new.set_attr("suites", list(parsed.suites, false));
    new.set_attr("components", list(parsed.components, true));
    new.set_attr("architectures", list(parsed.architectures, true));
    new.set_attr("enabled", parsed.enabled.into());
    new.set_attr(
        "signing_key",
        on_host
            .key
            .as_ref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .into(),
    );
    new.set_attr("sources_sha256", sha256_hex(&on_host.sources).into());
    new.set_attr("index_sha256", on_host.index_sha256.clone().into());
    new.set_attr("sources_path", sources_path(&name).into());
    new.set_attr("key_path", key_path(&name).into());
    new.set_attr("id", format!("{host}:{name}").into());
    new
}

fn required_name(value: &Value) -> Result<&str, Diagnostics> {
    value.attr("name").as_str().ok_or_else(|| {
        Diagnostic::error("name not known", "name must be known here.")
            .at(AttributePath::root("name"))
            .into()
    })
}

fn failed(session: &Session<'_>, doing: &str, name: &str, error: String) -> Diagnostics {
    Diagnostic::error(
        format!("Failed {doing} apt repository {name}"),
        format!(
            "{doing} repository {name} on {}: {error}",
            session.target().host
        ),
    )
    .into()
}
