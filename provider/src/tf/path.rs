//! Attribute paths: where in a configuration a diagnostic points.

use std::fmt;

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    /// An object attribute or nested block by name.
    Attribute(String),
    /// A map element by key.
    ElementKeyString(String),
    /// A list or tuple element by index.
    ElementKeyInt(i64),
}

/// A path from the root of a schema to one attribute or element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The path to a top-level attribute.
    pub fn root(name: &str) -> AttributePath {
        AttributePath(vec![PathStep::Attribute(name.to_owned())])
    }

    /// This path, then an attribute.
    pub fn attr(mut self, name: &str) -> AttributePath {
        self.0.push(PathStep::Attribute(name.to_owned()));
        self
    }

    /// This path, then a map key.
    pub fn key(mut self, key: &str) -> AttributePath {
        self.0.push(PathStep::ElementKeyString(key.to_owned()));
        self
    }

    /// This path, then a list index.
    pub fn index(mut self, index: i64) -> AttributePath {
        self.0.push(PathStep::ElementKeyInt(index));
        self
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => f.write_str(name)?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyString(key) => write!(f, "[{key:?}]")?,
                PathStep::ElementKeyInt(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_terraform_addresses() {
        let p = AttributePath::root("public_ip").attr("sources").index(2);
        assert_eq!(p.to_string(), "public_ip.sources[2]");
        assert_eq!(
            AttributePath::root("m").key("a b").to_string(),
            "m[\"a b\"]"
        );
    }
}
