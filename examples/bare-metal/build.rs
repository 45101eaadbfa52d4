//! With the `defmt` feature on a bare-metal target, the program links defmt's linker script
//! (defmt's build script puts `defmt.x` on the link search path).

fn main() {
    let bare = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "none");
    if bare && std::env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
