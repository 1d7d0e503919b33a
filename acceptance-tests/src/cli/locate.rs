//! Finds the CLI and the provider binary under test, and writes the CLI configuration that joins them.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The provider's source address as configurations spell it in `required_providers`.
pub const PROVIDER_SOURCE: &str = "homelab/homelab";

/// The `terraform` block every test configuration that uses the provider starts with.
pub const REQUIRED_PROVIDERS: &str = r#"terraform {
  required_providers {
    homelab = {
      source = "homelab/homelab"
    }
  }
}
"#;

/// Panics unless `TF_ACC` is set, so acceptance tests fail loudly instead of passing unseen.
pub fn require_tf_acc() {
    match std::env::var("TF_ACC") {
        Ok(value) if !value.is_empty() && value != "0" => {}
        _ => panic!(
            "acceptance tests drive the real terraform/tofu CLI and real test hosts; \
             set TF_ACC=1 to run them (./scripts/test does)"
        ),
    }
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the acceptance-tests crate lives inside the workspace")
        .to_path_buf()
}

/// The provider binary under test: `HOMELAB_PROVIDER_BIN`, else the workspace's debug build.
///
/// Panics when the binary does not exist, because the tests would otherwise exercise nothing.
pub fn provider_binary() -> PathBuf {
    let path = match std::env::var_os("HOMELAB_PROVIDER_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .filter(|dir| dir.is_absolute())
                .unwrap_or_else(|| workspace_root().join("target"));
            target.join("debug").join("terraform-provider-homelab")
        }
    };
    if !path.is_file() {
        panic!(
            "provider binary {} not found; build it first: cargo build -p terraform-provider-homelab",
            path.display()
        );
    }
    path.canonicalize()
        .expect("the provider binary path resolves")
}

/// The CLI to drive: `TF_ACC_TERRAFORM_PATH`, else `tofu` on the PATH, else `terraform`.
///
/// Panics with instructions when none is found.
pub fn terraform_cli() -> PathBuf {
    if let Some(path) = std::env::var_os("TF_ACC_TERRAFORM_PATH") {
        let path = PathBuf::from(path);
        if !is_executable(&path) {
            panic!(
                "TF_ACC_TERRAFORM_PATH={} is not an executable file",
                path.display()
            );
        }
        return path;
    }
    ["tofu", "terraform"]
        .iter()
        .find_map(|name| find_on_path(name))
        .unwrap_or_else(|| {
            panic!(
                "no terraform or tofu CLI found: put one on the PATH or set TF_ACC_TERRAFORM_PATH"
            )
        })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The CLI configuration that points `homelab/homelab` at `plugin_dir` and leaves every other
/// provider to the registry.
pub fn dev_overrides_config(plugin_dir: &Path) -> String {
    let dir = serde_json::to_string(&plugin_dir.to_string_lossy()).expect("a string serializes");
    format!(
        "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = {dir}\n  }}\n  direct {{}}\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_overrides_config_names_the_provider_and_its_directory() {
        let config = dev_overrides_config(Path::new("/tmp/x y/plugins"));
        assert!(
            config.contains(r#""homelab/homelab" = "/tmp/x y/plugins""#),
            "{config}"
        );
        assert!(config.contains("direct {}"), "{config}");
    }
}
