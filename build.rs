//! Generates the C header with cbindgen and gives the shared library its
//! SONAME / install name.
//!
//! The header is written where a build may write: `$OUT_DIR/mylib.h` and
//! `target/<profile>/include/mylib.h` (next to the library it describes),
//! never into the source tree. `make test` compares it with the committed
//! `include/mylib.h`; `make header` copies it there.

use std::env;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("version");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("version");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("version");

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");

    // The ABI version in the SONAME: the major version, which is 0 while the
    // version is 0.x (every 0.x release may break the ABI, so it is the
    // package's job to bump it, like libfoo.so.0 of many C libraries).
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match target_os.as_str() {
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmylib.so.{major}");
        }
        "macos" | "ios" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libmylib.{major}.dylib");
        }
        _ => {}
    }

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    config.after_includes = Some(format!(
        "\n/** The version of the header; mylib_version() returns the library's. */\n\
         #define MYLIB_VERSION_MAJOR {major}\n\
         #define MYLIB_VERSION_MINOR {minor}\n\
         #define MYLIB_VERSION_PATCH {patch}\n\
         #define MYLIB_VERSION_STRING \"{major}.{minor}.{patch}\"\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate include/mylib.h");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    // Writes only when the text changed, so the header's mtime is stable.
    bindings.write_to_file(out_dir.join("mylib.h"));
    if let Some(profile_dir) = profile_dir(&out_dir) {
        bindings.write_to_file(profile_dir.join("include").join("mylib.h"));
    }
}

/// `target/<profile>` (or `target/<triple>/<profile>`) from
/// `OUT_DIR = <that>/build/mylib-<hash>/out`; `None` for any other layout.
fn profile_dir(out_dir: &std::path::Path) -> Option<PathBuf> {
    let build = out_dir.parent()?.parent()?;
    (build.file_name()? == "build").then(|| build.parent().map(PathBuf::from))?
}
