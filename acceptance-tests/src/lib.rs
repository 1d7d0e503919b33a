//! Test harness for the provider: drives the real terraform/tofu CLI, shares the acceptance step loop, and fakes the services the provider talks to.

pub mod cli;
pub mod echo;
pub mod plugin_client;
pub mod show;
pub mod steps;
