//! The outcome of checking one dump: the checks that passed, and what failed.

use std::time::Duration;

/// The outcome of checking one dump.
#[derive(Debug, Default)]
pub struct Verdict {
    pub tasks: usize,
    pub dsqs: usize,
    pub passed: usize,
    pub failures: Vec<String>,
    pub scxray_time: Duration,
    /// Why the dump cannot be checked against this truth, though nothing says scxray is wrong:
    /// every listed task missing from the dump ended between the listing and the dump (or just
    /// after it: the guest looks a moment later). Its checks failed all the same; the matrix
    /// takes truth and dump again.
    pub spoiled: Option<String>,
}

impl Verdict {
    /// Counts a check that passed, or records `what` as failed.
    pub fn check_named(&mut self, ok: bool, what: &str) {
        self.check(ok, || what.to_owned());
    }

    /// Counts a check that passed, or records the failure `what` describes.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(what());
        }
    }

    /// One check of every item of `items` (every DSQ, every queued task): `failed` says what
    /// is wrong with an item, if anything. Each item that passes counts as a passed check; the
    /// ones that fail make one failure, `what` with their count and the first ten (a big
    /// guest's thousands of tasks would otherwise bury the table).
    pub fn each<T>(&mut self, what: &str, items: &[T], failed: impl FnMut(&T) -> Option<String>) {
        let bad: Vec<String> = items.iter().filter_map(failed).collect();
        self.passed += items.len() - bad.len();
        if !bad.is_empty() {
            self.failures.push(format!("{what} ({} of {}): {}", bad.len(), items.len(), some(&bad)));
        }
    }
}

/// The first ten of `items` and how many there are, for a failure message.
pub fn some<T: std::fmt::Debug>(items: &[T]) -> String {
    if items.len() <= 10 {
        format!("{items:?}")
    } else {
        format!("{:?} and {} more", &items[..10], items.len() - 10)
    }
}
