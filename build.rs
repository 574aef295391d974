//! Generates the C header from `src/ffi` into OUT_DIR (a test compares it with the committed
//! `include/redis_sentinel.h`); with REDIS_SENTINEL_WRITE_HEADER=1 it also rewrites that file.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=REDIS_SENTINEL_WRITE_HEADER");
    // A real shared library: its SONAME (install name on macOS) carries the major version,
    // so a program linked against 0.x keeps loading any later 0.y.
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("set by cargo");
    match env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("macos") => println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libredis_sentinel.{major}.dylib"
        ),
        Ok("linux") => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libredis_sentinel.so.{major}")
        }
        _ => {}
    }
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("redis_sentinel.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is valid");
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can read src/ffi");
    bindings.write_to_file(&out);
    if env::var_os("REDIS_SENTINEL_WRITE_HEADER").is_some_and(|v| v == "1") {
        bindings.write_to_file(crate_dir.join("include/redis_sentinel.h"));
    }
}
