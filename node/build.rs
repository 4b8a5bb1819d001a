//! Builds `csrc/long_double.c`, the `long double` arithmetic behind INCRBYFLOAT (see
//! `src/cmd/long_double.rs` for why it is C).

fn main() {
    println!("cargo:rerun-if-changed=csrc/long_double.c");
    cc::Build::new()
        .file("csrc/long_double.c")
        .warnings(true)
        .compile("slotgate_long_double");
}
