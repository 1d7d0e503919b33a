//! Test harness for the provider: drives the real terraform/tofu CLI, shares the acceptance step loop, and fakes the services the provider talks to.

pub mod apt_repo;
pub mod cli;
pub mod echo;
pub mod host_tests;
pub mod lab;
pub mod moto;
pub mod plugin_client;
pub mod procfs;
pub mod provider_processes;
pub mod show;
pub mod ssh_host;
pub mod sshd;
pub mod steps;
