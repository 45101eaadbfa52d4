//! `cargo xtask lab ...`: the real-kernel lab. Boots Debian's kernels under QEMU, runs a
//! sched_ext scheduler in the guest and takes memory dumps that scxray is checked against.
//!
//! Everything downloaded or produced lives in the cache directory ([`apt::cache_dir`],
//! `$SCXRAY_CACHE` or `$HOME/.cache/scxray`), never in the repository.
//!
//! - `lab apt newest <glob> <arch> [suite]`: the newest matching package of the private apt.
//! - `lab apt fetch <name> <arch> [suite]`: download (cached, verified) and print the .deb path.

// Parts of the apt API exist for the scheduler builder (schedulers.rs) and are unused here.
#[allow(dead_code)]
pub mod apt;

/// Entry point of `cargo xtask lab <command> ...`.
pub fn run(args: &[String]) -> Result<(), String> {
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    match cmd {
        "apt" => apt_cmd(rest),
        "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => Err(format!("unknown lab command `{other}`; run `cargo xtask lab help`")),
    }
}

fn print_help() {
    println!(
        "cargo xtask lab <command>\n\n\
         commands:\n  \
         apt newest <glob> <arch> [suite]   newest package of the private apt environment\n  \
         apt fetch <name> <arch> [suite]    download a .deb (cached, SHA256-checked), print its path\n"
    );
}

fn apt_cmd(args: &[String]) -> Result<(), String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["newest", pat, arch, rest @ ..] => {
            let suite = rest.first().copied();
            for p in apt::packages(pat, arch, suite)?.iter().take(20) {
                println!("{}\t{}\t{}\t{}\t{}", p.name, p.version, p.arch, p.suite, p.size);
            }
            Ok(())
        }
        ["fetch", name, arch] => {
            println!("{}", apt::fetch(name, arch)?.display());
            Ok(())
        }
        ["fetch", name, arch, suite] => {
            println!("{}", apt::fetch_from(name, arch, suite)?.display());
            Ok(())
        }
        _ => Err("usage: lab apt newest <glob> <arch> [suite] | lab apt fetch <name> <arch> [suite]".into()),
    }
}
