//! What went wrong reading or writing a model, and where.

use std::fmt;

use crate::tf::diagnostics::Diagnostic;
use crate::tf::path::AttributePath;

/// A value did not fit its model (or a model did not fit its schema type), at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// Where: the attribute or element, once known.
    path: Option<AttributePath>,
    /// A struct field serde found missing; becomes the last step of the path.
    missing: Option<String>,
    /// Whether the value was unknown where the model needs a known one.
    unknown: bool,
    /// What, in lowercase.
    message: String,
}

impl ModelError {
    pub(super) fn new(message: impl Into<String>) -> ModelError {
        ModelError {
            path: None,
            missing: None,
            unknown: false,
            message: message.into(),
        }
    }

    pub(super) fn unknown_at(path: &AttributePath) -> ModelError {
        ModelError {
            path: Some(path.clone()),
            missing: None,
            unknown: true,
            message: "the value is not known yet, but this code needs it known".into(),
        }
    }

    /// Sets the path unless a deeper one was already set.
    pub(super) fn at(mut self, path: &AttributePath) -> ModelError {
        if self.path.is_none() {
            let mut path = path.clone();
            if let Some(name) = self.missing.take() {
                path = path.attr(&name);
            }
            self.path = Some(path);
        }
        self
    }

    /// Puts `parent` in front of the path (errors found while writing, inside out).
    pub(super) fn under(mut self, parent: AttributePath) -> ModelError {
        let mut path = parent;
        path.0
            .extend(self.path.take().map(|p| p.0).unwrap_or_default());
        self.path = Some(path);
        self
    }

    /// Sets the root path on an error that reached the top without one.
    pub(super) fn finish(self) -> ModelError {
        self.at(&AttributePath::default())
    }

    /// The attribute or element the error is about; empty for the whole value.
    pub fn path(&self) -> AttributePath {
        self.path.clone().unwrap_or_default()
    }

    /// Whether an unknown value reached a model field that cannot hold one.
    pub fn is_unknown(&self) -> bool {
        self.unknown
    }

    /// The error as a diagnostic pointing at its attribute.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let path = self.path();
        let diagnostic = if self.unknown {
            let name = if path.0.is_empty() {
                "The value".to_owned()
            } else {
                path.to_string()
            };
            Diagnostic::error(
                format!("{name} not known"),
                format!("{name} must be known here."),
            )
        } else {
            Diagnostic::error("Value does not fit the provider's model", self.to_string())
        };
        if path.0.is_empty() {
            diagnostic
        } else {
            diagnostic.at(path)
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) if !path.0.is_empty() => write!(f, "{path}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ModelError {}

impl serde::de::Error for ModelError {
    fn custom<T: fmt::Display>(message: T) -> ModelError {
        ModelError::new(message.to_string())
    }

    fn missing_field(field: &'static str) -> ModelError {
        ModelError {
            missing: Some(field.to_owned()),
            ..ModelError::new("a required attribute is null")
        }
    }
}

impl serde::ser::Error for ModelError {
    fn custom<T: fmt::Display>(message: T) -> ModelError {
        ModelError::new(message.to_string())
    }
}

impl From<ModelError> for crate::tf::Diagnostics {
    fn from(e: ModelError) -> crate::tf::Diagnostics {
        e.to_diagnostic().into()
    }
}
