//! The lab's table: one row per dump, with how long its guest took to boot, what scxray found
//! and how many of the checks passed; every failed check is listed under its row, and so is
//! what the case went through besides (a retry and why).

use super::check::Verdict;

/// One row of the table.
#[derive(Debug)]
pub struct Row {
    /// The case or dump name.
    pub name: String,
    /// QEMU start to the guest's ready marker; `None` for a dump checked again (`lab check`).
    pub boot_secs: Option<f64>,
    pub verdict: Verdict,
    /// What the row's case went through besides its checks (a retry and why), listed under it.
    pub notes: Vec<String>,
}

impl Row {
    /// A row for a case that failed before its checks could run.
    pub fn failed(name: &str, why: String) -> Row {
        let mut verdict = Verdict::default();
        verdict.failures.push(why);
        Row { name: name.to_owned(), boot_secs: None, verdict, notes: Vec::new() }
    }

    /// A row of checks run on a guest that booted in `boot_secs` (`None`: not booted here).
    pub fn checked(name: &str, boot_secs: Option<f64>, verdict: Verdict) -> Row {
        Row { name: name.to_owned(), boot_secs, verdict, notes: Vec::new() }
    }
}

/// Prints the table; returns how many rows have a failed check.
pub fn print(rows: &[Row]) -> usize {
    println!();
    println!("{:<32} {:>7} {:>6} {:>5} {:>9} {:>8}", "case", "boot", "tasks", "DSQs", "checks", "scxray");
    let mut failed = 0;
    for r in rows {
        let v = &r.verdict;
        let boot = r.boot_secs.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}s"));
        println!(
            "{:<32} {boot:>7} {:>6} {:>5} {:>4}/{:<4} {:>6.0}ms",
            r.name,
            v.tasks,
            v.dsqs,
            v.passed,
            v.passed + v.failures.len(),
            v.scxray_time.as_secs_f64() * 1000.0
        );
        for n in &r.notes {
            println!("    NOTE {n}");
        }
        for f in &v.failures {
            println!("    FAIL {f}");
        }
        failed += usize::from(!v.failures.is_empty());
    }
    failed
}
