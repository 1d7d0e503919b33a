//! The provider binary: terraform or tofu starts it and speaks gRPC to it.

fn main() -> std::process::ExitCode {
    terraform_provider_homelab::server::main()
}
