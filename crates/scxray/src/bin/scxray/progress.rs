//! Long work says what it is doing: the current step on stderr once it has run for a second.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Prints the current step on stderr when it has run for more than a second.
pub struct Progress {
    step: Arc<Mutex<(String, Instant, bool)>>,
}

impl Progress {
    pub fn start() -> Self {
        let step = Arc::new(Mutex::new((String::new(), Instant::now(), false)));
        let s = Arc::clone(&step);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let Ok(mut g) = s.lock() else { return };
                if !g.0.is_empty() && !g.2 && g.1.elapsed() > Duration::from_secs(1) {
                    eprintln!("scxray: {}...", g.0);
                    g.2 = true;
                }
            }
        });
        Self { step }
    }

    /// `what` is the step now running ("" when none).
    pub fn set(&self, what: &str) {
        if let Ok(mut g) = self.step.lock() {
            *g = (what.to_owned(), Instant::now(), false);
        }
    }
}
