//! A case tried again once when the lab's environment, not scxray, spoiled its first try: a
//! scheduler the kernel's watchdog disabled between the guest's truth and its dump (TCG on a
//! loaded host runs its tasks too slowly), a stall hunt whose stall came and went between two
//! dumps. The table notes the first reason; a second spoiled try fails the case with both.

use super::table::Row;

/// What one try of a case came to.
pub enum Try {
    /// Its row, checked.
    Row(Row),
    /// Why it could not be checked, and is worth trying again.
    Again(String),
}

/// Runs `attempt`, and once more when it comes back [`Try::Again`].
pub fn at_most_twice(name: &str, mut attempt: impl FnMut() -> Try) -> Row {
    let first = match attempt() {
        Try::Row(row) => return row,
        Try::Again(why) => why,
    };
    eprintln!("xtask: {name}: trying again: {first}");
    let mut row = match attempt() {
        Try::Row(row) => row,
        Try::Again(second) => {
            Row::failed(name, format!("spoiled twice, not checked: {first}; then: {second}"))
        }
    };
    row.notes.insert(0, format!("tried again: {first}"));
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::runs::check::Verdict;

    #[test]
    fn one_more_try_then_a_failure_with_both_reasons() {
        let ok = || Try::Row(Row::checked("c", Some(1.0), Verdict::default()));
        let row = at_most_twice("c", ok);
        assert!(row.notes.is_empty() && row.verdict.failures.is_empty());
        let mut tries = 0;
        let row = at_most_twice("c", || {
            tries += 1;
            if tries == 1 { Try::Again("watchdog".into()) } else { ok() }
        });
        assert_eq!(
            (tries, row.notes.as_slice(), row.verdict.failures.len()),
            (2, &["tried again: watchdog".to_owned()][..], 0)
        );
        let mut tries = 0;
        let row = at_most_twice("c", || {
            tries += 1;
            Try::Again(format!("reason {tries}"))
        });
        assert_eq!(tries, 2);
        assert_eq!(
            row.verdict.failures,
            vec!["spoiled twice, not checked: reason 1; then: reason 2".to_owned()]
        );
        assert_eq!(row.notes, vec!["tried again: reason 1".to_owned()]);
    }
}
