//! Compiles the `.proto` files in `proto/` with protox (pure Rust, no system
//! `protoc`) and generates prost messages plus tonic clients and servers.

use std::path::PathBuf;

const PROTO_DIR: &str = "proto";
const PROTO_FILES: &[&str] = &[
    "tfplugin6.proto",
    "grpc_controller.proto",
    "grpc_stdio.proto",
    "grpc_broker.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_DIR}");
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={PROTO_DIR}/{file}");
    }

    let files: Vec<PathBuf> = PROTO_FILES
        .iter()
        .map(|f| PathBuf::from(PROTO_DIR).join(f))
        .collect();

    // google/protobuf/*.proto are built into protox; the generated code maps
    // them onto prost-types (Timestamp) and `()` (Empty).
    let fds = protox::compile(&files, [PROTO_DIR])?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // RPCs the provider does not implement answer Unimplemented without a hand-written stub.
        .generate_default_stubs(true)
        .compile_fds(fds)?;

    Ok(())
}
