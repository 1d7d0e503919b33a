//! Read-only views of what `terraform show -json` prints for the state and for a saved plan.

use serde_json::{Map, Value};

/// The state as `show -json` prints it (`values.root_module.resources`, `values.outputs`).
#[derive(Debug, Clone, PartialEq)]
pub struct StateView {
    json: Value,
}

impl StateView {
    /// Wraps the parsed output of `show -json`.
    pub fn from_json(json: Value) -> Self {
        StateView { json }
    }

    /// The whole document.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Every resource and data source instance, in all modules.
    pub fn resources(&self) -> Vec<&Value> {
        let mut found = Vec::new();
        if let Some(root) = self.json.pointer("/values/root_module") {
            collect_resources(root, &mut found);
        }
        found
    }

    /// The addresses of all instances, e.g. `homelab_file.motd` or `data.homelab_public_ip.home`.
    pub fn addresses(&self) -> Vec<String> {
        self.resources()
            .iter()
            .filter_map(|resource| resource["address"].as_str().map(str::to_owned))
            .collect()
    }

    /// The addresses of managed resources only; empty after a complete destroy.
    pub fn managed_addresses(&self) -> Vec<String> {
        self.resources()
            .iter()
            .filter(|resource| resource["mode"] == "managed")
            .filter_map(|resource| resource["address"].as_str().map(str::to_owned))
            .collect()
    }

    /// The instance at `address`, if the state has one.
    pub fn resource(&self, address: &str) -> Option<&Value> {
        self.resources()
            .into_iter()
            .find(|resource| resource["address"] == address)
    }

    /// The attribute values of the instance at `address`; panics listing the addresses present.
    pub fn values(&self, address: &str) -> &Map<String, Value> {
        let resource = self.resource(address).unwrap_or_else(|| {
            panic!("no {address} in the state; it holds {:?}", self.addresses())
        });
        resource["values"]
            .as_object()
            .unwrap_or_else(|| panic!("{address} has no values in the state: {resource}"))
    }

    /// One attribute of the instance at `address`; panics when it is missing.
    pub fn attr(&self, address: &str, name: &str) -> &Value {
        self.values(address)
            .get(name)
            .unwrap_or_else(|| panic!("{address} has no attribute {name:?}"))
    }

    /// One string attribute of the instance at `address`; panics when it is missing or not a string.
    pub fn attr_str(&self, address: &str, name: &str) -> &str {
        let value = self.attr(address, name);
        value
            .as_str()
            .unwrap_or_else(|| panic!("{address}.{name} is not a string: {value}"))
    }

    /// The value of a root module output, if the state has it.
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.json.pointer(&format!("/values/outputs/{name}/value"))
    }
}

fn collect_resources<'a>(module: &'a Value, found: &mut Vec<&'a Value>) {
    if let Some(resources) = module["resources"].as_array() {
        found.extend(resources);
    }
    if let Some(children) = module["child_modules"].as_array() {
        for child in children {
            collect_resources(child, found);
        }
    }
}

/// A saved plan as `show -json PLANFILE` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    json: Value,
}

impl PlanView {
    /// Wraps the parsed output of `show -json PLANFILE`.
    pub fn from_json(json: Value) -> Self {
        PlanView { json }
    }

    /// The whole document.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The planned actions (`["create"]`, `["no-op"]`, `["delete", "create"]`, ...) for `address`.
    pub fn actions(&self, address: &str) -> Option<Vec<&str>> {
        let change = self.json["resource_changes"]
            .as_array()?
            .iter()
            .find(|change| change["address"] == address)?;
        change["change"]["actions"]
            .as_array()
            .map(|actions| actions.iter().filter_map(Value::as_str).collect())
    }

    /// The planned change of the resource at `address` (`actions`, `before`, `after`,
    /// `after_unknown`, ...).
    pub fn resource_change(&self, address: &str) -> Option<&Value> {
        self.json["resource_changes"]
            .as_array()?
            .iter()
            .find(|change| change["address"] == address)
            .map(|change| &change["change"])
    }

    /// The addresses and actions of every resource change that does something (neither
    /// `no-op` nor `read`), in plan order.
    pub fn changed_resources(&self) -> Vec<(String, Vec<String>)> {
        let Some(changes) = self.json["resource_changes"].as_array() else {
            return Vec::new();
        };
        changes
            .iter()
            .filter_map(|change| {
                let actions: Vec<String> = change["change"]["actions"]
                    .as_array()?
                    .iter()
                    .filter_map(|action| action.as_str().map(str::to_owned))
                    .collect();
                let idle = actions.iter().all(|a| a == "no-op" || a == "read");
                let address = change["address"].as_str()?.to_owned();
                (!idle).then_some((address, actions))
            })
            .collect()
    }

    /// The planned change of a root module output (`actions`, `before`, `after`, ...).
    pub fn output_change(&self, name: &str) -> Option<&Value> {
        self.json.pointer(&format!("/output_changes/{name}"))
    }

    /// The value an output will have after apply, if it is known.
    pub fn output_after(&self, name: &str) -> Option<&Value> {
        self.output_change(name)?.get("after")
    }
}

/// Lists the attributes whose values differ between `before` and `after`, except `ignore`.
pub fn differing_attributes(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    ignore: &[&str],
) -> Vec<String> {
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| !ignore.contains(&name.as_str()))
        .filter_map(|name| {
            let (old, new) = (before.get(name), after.get(name));
            (old != new).then(|| {
                let show =
                    |value: Option<&Value>| value.map_or("(absent)".to_owned(), Value::to_string);
                format!("{name}: {} -> {}", show(old), show(new))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> StateView {
        StateView::from_json(json!({
            "format_version": "1.0",
            "values": {
                "outputs": {"ip": {"sensitive": false, "value": "81.2.69.160", "type": "string"}},
                "root_module": {
                    "resources": [
                        {"address": "data.homelab_public_ip.home", "mode": "data",
                         "values": {"ip": "81.2.69.160", "id": "81.2.69.160"}}
                    ],
                    "child_modules": [{
                        "address": "module.node",
                        "resources": [{"address": "module.node.homelab_file.motd", "mode": "managed",
                                        "values": {"path": "/etc/motd"}}]
                    }]
                }
            }
        }))
    }

    #[test]
    fn state_view_finds_resources_in_child_modules_and_outputs() {
        let state = state();
        assert_eq!(
            state.attr_str("module.node.homelab_file.motd", "path"),
            "/etc/motd"
        );
        assert_eq!(
            state.attr_str("data.homelab_public_ip.home", "ip"),
            "81.2.69.160"
        );
        assert_eq!(state.managed_addresses(), ["module.node.homelab_file.motd"]);
        assert_eq!(state.output("ip"), Some(&json!("81.2.69.160")));
        assert_eq!(state.output("missing"), None);
    }

    #[test]
    fn state_view_of_an_empty_state_has_no_resources() {
        let state = StateView::from_json(json!({"format_version": "1.0"}));
        assert!(state.resources().is_empty());
    }

    #[test]
    fn differing_attributes_names_changed_missing_and_new_values_except_ignored() {
        let before = json!({"a": 1, "b": "x", "c": true, "secret": "k"});
        let after = json!({"a": 1, "b": "y", "d": null, "secret": null});
        let diffs = differing_attributes(
            before.as_object().unwrap(),
            after.as_object().unwrap(),
            &["secret"],
        );
        assert_eq!(
            diffs,
            [
                r#"b: "x" -> "y""#,
                "c: true -> (absent)",
                "d: (absent) -> null"
            ]
        );
    }
}
