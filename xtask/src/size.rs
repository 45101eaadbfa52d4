//! `cargo xtask size`: the code an embedder links for the walk. Builds `xtask/size-probe` (a
//! staticlib exporting one function that runs `walk_machine` and `read_task_detail` over an
//! x86_64 translator, inputs hidden behind `black_box`) for thumbv7em-none-eabihf at
//! opt-level "s" with fat LTO, then sums the `.text` sections of the LTO'd object by the
//! crate each function comes from (sections are per function, named by mangled symbol).

use crate::util::{Step, ensure_rust_targets, workspace_root};
use object::read::archive::ArchiveFile;
use object::{Object, ObjectSection};
use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "thumbv7em-none-eabihf";

/// Where cargo builds: `$CARGO_TARGET_DIR`, else the workspace's `target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// The crate a `.text.<mangled>` section belongs to.
fn owner(section: &str) -> &'static str {
    for (needle, name) in [
        ("scxray_x86_64", "scxray-x86_64"),
        ("scxray_core", "scxray-core"),
        ("scxray_probe_walk", "the probe's entry"),
        ("scxray_size_probe", "the probe's entry"),
    ] {
        if section.contains(needle) {
            return name;
        }
    }
    "core, zerocopy (what the walk pulls in)"
}

pub fn run(_args: &[String]) -> Result<(), String> {
    ensure_rust_targets(&[TARGET])?;
    let out_dir = target_dir().join("size-probe");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "--quiet", "--release", "--target", TARGET])
        .current_dir(workspace_root().join("xtask/size-probe"))
        .env("CARGO_TARGET_DIR", &out_dir);
    Step::new(&format!("size probe for {TARGET} (opt-level s, fat LTO)")).run(cmd)?;
    let lib = out_dir.join(TARGET).join("release/libscxray_size_probe.a");
    let data = std::fs::read(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    let archive = ArchiveFile::parse(&*data).map_err(|e| format!("{}: {e}", lib.display()))?;
    let mut by_owner: Vec<(&'static str, u64)> = Vec::new();
    let mut builtins = 0u64;
    for member in archive.members() {
        let member = member.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(member.name()).into_owned();
        // A member may sit at any even offset; ELF parsing wants its header aligned.
        let bytes = member.data(&*data).map_err(|e| e.to_string())?.to_vec();
        let obj = match object::File::parse(&*bytes) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("xtask: {name}: {e}");
                continue;
            }
        };
        for s in obj.sections() {
            let sname = s.name().unwrap_or_default();
            if !sname.starts_with(".text") || s.size() == 0 {
                continue;
            }
            if !name.starts_with("scxray_size_probe") {
                // compiler_builtins (libm and all) is in every staticlib whole; a linker
                // keeps only the few intrinsics called.
                builtins += s.size();
                continue;
            }
            let who = owner(sname);
            match by_owner.iter_mut().find(|(o, _)| *o == who) {
                Some((_, n)) => *n += s.size(),
                None => by_owner.push((who, s.size())),
            }
        }
    }
    by_owner.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let total: u64 = by_owner.iter().map(|(_, n)| n).sum();
    println!(
        "\n.text of the walk for {TARGET}, opt-level \"s\", fat LTO (walk_machine + read_task_detail, x86_64 translator):\n"
    );
    println!("| from | bytes |");
    println!("|---|---:|");
    for (who, n) in &by_owner {
        println!("| {who} | {n} |");
    }
    println!("| **total** | **{total}** |");
    println!(
        "\nBy the function that holds the code after inlining: the x86_64 walk is inlined into\n\
         scxray-core's `Guest::translate`, the top-level passes into the probe's entry.\n\
         Not counted: compiler_builtins ({builtins} bytes in the archive, libm included), of\n\
         which a linker keeps only the few intrinsics called."
    );
    Ok(())
}
