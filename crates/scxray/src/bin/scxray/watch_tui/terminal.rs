//! The screen on the terminal: redraws the view and answers the keys while the watch waits for
//! its next sample. `p` pauses and resumes sampling (the watch waits while paused), `r` has
//! the watch write a full report now, `q` (or Esc, or Ctrl-C) quits. After the watch ended (a
//! dump is one sample; a watch that fired stops) the screen stays up until `q`.

use super::draw::draw;
use super::model::WatchView;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use scxray::Error;
use std::time::{Duration, Instant};

/// How long to wait for a key when nothing is due (paused, or the watch ended).
const IDLE_POLL: Duration = Duration::from_millis(250);

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// Go on sampling.
    GoOn,
    /// Quit.
    Quit,
}

/// The terminal in the watch screen (raw mode, the alternate screen) and what it shows; the
/// terminal is given back as it was when the screen is dropped.
#[derive(Debug)]
pub struct Screen {
    terminal: DefaultTerminal,
    /// What is shown.
    pub view: WatchView,
}

fn tty(e: std::io::Error) -> Error {
    Error::Internal(format!("the terminal: {e}"))
}

impl Screen {
    /// Takes over the terminal to show `view`.
    pub fn open(view: WatchView) -> Result<Self, Error> {
        Ok(Self { terminal: ratatui::try_init().map_err(tty)?, view })
    }

    fn draw(&mut self) -> Result<(), Error> {
        let view = &self.view;
        self.terminal.draw(|f| draw(f, view)).map_err(tty).map(drop)
    }

    /// Shows the view and answers keys until `until` (longer while paused). `report` writes
    /// a full report and says where.
    pub fn wait(
        &mut self,
        until: Instant,
        report: &mut dyn FnMut() -> Result<String, Error>,
    ) -> Result<Asked, Error> {
        loop {
            self.draw()?;
            let wait =
                if self.view.paused { IDLE_POLL } else { until.saturating_duration_since(Instant::now()) };
            // Keys are read even when the next sample is already due (a sample slower than the
            // interval): a zero wait still takes what was typed.
            if event::poll(wait).map_err(tty)? {
                if self.key(report)? == Asked::Quit {
                    return Ok(Asked::Quit);
                }
            } else if !self.view.paused && Instant::now() >= until {
                return Ok(Asked::GoOn);
            }
        }
    }

    /// After the watch ended: shows `why` and the last view until the user quits.
    pub fn hold(
        &mut self,
        why: String,
        report: &mut dyn FnMut() -> Result<String, Error>,
    ) -> Result<(), Error> {
        self.view.status = Some(why);
        self.view.paused = false;
        loop {
            self.draw()?;
            if event::poll(IDLE_POLL).map_err(tty)? && self.key(report)? == Asked::Quit {
                return Ok(());
            }
        }
    }

    fn key(&mut self, report: &mut dyn FnMut() -> Result<String, Error>) -> Result<Asked, Error> {
        let Event::Key(key) = event::read().map_err(tty)? else { return Ok(Asked::GoOn) };
        if key.kind != KeyEventKind::Press {
            return Ok(Asked::GoOn);
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Ok(Asked::Quit),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => return Ok(Asked::Quit),
            KeyCode::Char('p') => self.view.paused = !self.view.paused,
            KeyCode::Char('r') => {
                self.view.status = Some("writing a full report...".to_owned());
                self.draw()?;
                self.view.status = Some(match report() {
                    Ok(written) => format!("report: {written}"),
                    Err(e) => format!("report failed: {e}"),
                });
            }
            _ => {}
        }
        Ok(Asked::GoOn)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
    }
}
