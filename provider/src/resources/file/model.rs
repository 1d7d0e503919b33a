//! `homelab_file`'s typed models: [`FileModel`] for apply and read, [`PlannedFile`] for validate
//! and plan. Each RPC reads its values into one of these once and writes the result back once.

use serde::{Deserialize, Serialize};

use crate::ssh::resource_config::{PlannedSshOverride, SshOverride};
use crate::tf::model::Planned;

/// The file as state, or as the plan at apply (computed values still unknown read as `None`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct FileModel {
    pub(super) host: String,
    pub(super) path: String,
    pub(super) content: Option<String>,
    pub(super) content_base64: Option<String>,
    pub(super) source: Option<String>,
    pub(super) mode: Option<String>,
    pub(super) owner: Option<String>,
    pub(super) group: Option<String>,
    /// Write-only: only ever set in configuration, never in plan or state.
    pub(super) create_directories: Option<bool>,
    pub(super) sha256: Option<String>,
    pub(super) id: Option<String>,
    pub(super) ssh: Option<SshOverride>,
}

/// The file as configuration or plan, where any value may still be unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct PlannedFile {
    pub(super) host: Planned<String>,
    pub(super) path: Planned<String>,
    pub(super) content: Planned<Option<String>>,
    pub(super) content_base64: Planned<Option<String>>,
    pub(super) source: Planned<Option<String>>,
    pub(super) mode: Planned<Option<String>>,
    pub(super) owner: Planned<Option<String>>,
    pub(super) group: Planned<Option<String>>,
    pub(super) create_directories: Planned<Option<bool>>,
    pub(super) sha256: Planned<Option<String>>,
    pub(super) id: Planned<Option<String>>,
    pub(super) ssh: Planned<Option<PlannedSshOverride>>,
}

/// Where the content comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Content<'a> {
    /// `content`: UTF-8 text.
    Text(&'a str),
    /// `content_base64`.
    Base64(&'a str),
    /// `source`: a local file read at plan time.
    Source(&'a str),
    /// Set, but not known until apply.
    Unknown,
    /// None of the three is set.
    Unset,
}

impl FileModel {
    /// The content's source; the first one set wins, as validate allows only one.
    pub(super) fn content(&self) -> Content<'_> {
        if let Some(text) = &self.content {
            Content::Text(text)
        } else if let Some(text) = &self.content_base64 {
            Content::Base64(text)
        } else if let Some(path) = &self.source {
            Content::Source(path)
        } else {
            Content::Unset
        }
    }
}

impl PlannedFile {
    /// The content's source; an unknown one counts as set.
    pub(super) fn content(&self) -> Content<'_> {
        match (&self.content, &self.content_base64, &self.source) {
            (Planned::Known(Some(text)), _, _) => Content::Text(text),
            (Planned::Unknown, _, _) => Content::Unknown,
            (_, Planned::Known(Some(text)), _) => Content::Base64(text),
            (_, Planned::Unknown, _) => Content::Unknown,
            (_, _, Planned::Known(Some(path))) => Content::Source(path),
            (_, _, Planned::Unknown) => Content::Unknown,
            (_, _, Planned::Known(None)) => Content::Unset,
        }
    }

    /// The names of the content attributes set (or unknown) in configuration.
    pub(super) fn content_attributes_set(&self) -> Vec<&'static str> {
        [
            ("content", &self.content),
            ("content_base64", &self.content_base64),
            ("source", &self.source),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(name, _)| name)
        .collect()
    }

    /// The `ssh` block with every value known, or `None` when absent; `Err` while any part is
    /// unknown.
    pub(super) fn known_ssh(&self) -> Result<Option<SshOverride>, ()> {
        match &self.ssh {
            Planned::Known(None) => Ok(None),
            Planned::Known(Some(ssh)) => ssh.known().map(Some).ok_or(()),
            Planned::Unknown => Err(()),
        }
    }
}
