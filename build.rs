//! Generates the C header from `src/ffi` with cbindgen.
//!
//! The header is always generated into OUT_DIR; a unit test compares it with the committed
//! `include/sealnet.h`, so an ABI change never goes unnoticed. `make header` (SEALNET_UPDATE_HEADER=1)
//! writes the committed copy.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=SEALNET_UPDATE_HEADER");
    set_soname();

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let version = std::env::var("CARGO_PKG_VERSION").expect("set by cargo");
    let part = |name: &str| std::env::var(name).expect("set by cargo");
    let opaque_types = config.after_includes.take().unwrap_or_default();
    config.after_includes = Some(format!(
        "\n/** Version of this header; compare with peer_version() at run time. */\n\
         #define SEALNET_VERSION_MAJOR {}\n\
         #define SEALNET_VERSION_MINOR {}\n\
         #define SEALNET_VERSION_PATCH {}\n\
         #define SEALNET_VERSION_STRING \"{version}\"\n{opaque_types}",
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen could not generate the header");
    bindings.write_to_file(out_dir.join("sealnet.h"));
    if std::env::var_os("SEALNET_UPDATE_HEADER").is_some() {
        bindings.write_to_file(crate_dir.join("include/sealnet.h"));
    }
}

/// The shared library's SONAME names the ABI it offers: libsealnet.so.0.MINOR while the major version
/// is 0 (the ABI may change with each minor version), libsealnet.so.MAJOR after (scripts/soname.sh
/// prints the same for the install).
fn set_soname() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("set by cargo");
    let soname = if major == "0" { format!("libsealnet.so.0.{minor}") } else { format!("libsealnet.so.{major}") };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
}
