//! The lab's table: one row per dump, with how long its guest took to boot, what scxray found
//! and how many of the checks passed; every failed check is listed under its row.

use super::check::Verdict;

/// One row of the table.
#[derive(Debug)]
pub struct Row {
    /// The case or dump name.
    pub name: String,
    /// QEMU start to the guest's ready marker; `None` for a dump checked again (`lab check`).
    pub boot_secs: Option<f64>,
    pub verdict: Verdict,
}

impl Row {
    /// A row for a case that failed before its checks could run.
    pub fn failed(name: &str, why: String) -> Row {
        let mut verdict = Verdict::default();
        verdict.failures.push(why);
        Row { name: name.to_owned(), boot_secs: None, verdict }
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
        for f in &v.failures {
            println!("    FAIL {f}");
        }
        failed += usize::from(!v.failures.is_empty());
    }
    failed
}
