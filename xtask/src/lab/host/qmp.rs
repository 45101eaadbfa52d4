//! A minimal client of QEMU's machine protocol (QMP): connect, negotiate, run a command.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A minimal QMP client.
#[derive(Debug)]
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    /// Connects (retrying while QEMU creates the socket), reads the greeting and negotiates
    /// capabilities.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Qmp, String> {
        let start = Instant::now();
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if start.elapsed() > timeout => {
                    return Err(format!("QMP connect {}: {e}", path.display()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        let writer = stream.try_clone().map_err(|e| format!("QMP: {e}"))?;
        let mut q = Qmp { reader: BufReader::new(stream), writer };
        let greeting = q.read_line()?;
        if !greeting.contains("\"QMP\"") {
            return Err(format!("unexpected QMP greeting: {greeting}"));
        }
        q.execute("qmp_capabilities", None)?;
        Ok(q)
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(|e| format!("QMP read: {e}"))?;
        if n == 0 {
            return Err("QMP: connection closed".into());
        }
        Ok(line)
    }

    /// `dump-guest-memory` of the (stopped) guest to `path`: an ELF core, or `format` (e.g.
    /// `kdump-zlib`). Without paging: the dump holds physical memory only.
    pub fn dump_guest_memory(&mut self, path: &Path, format: Option<&str>) -> Result<(), String> {
        let protocol = json_str(&format!("file:{}", path.display()));
        let args = match format {
            Some(f) => format!("{{\"paging\":false,\"format\":{},\"protocol\":{protocol}}}", json_str(f)),
            None => format!("{{\"paging\":false,\"protocol\":{protocol}}}"),
        };
        self.execute("dump-guest-memory", Some(&args)).map(|_| ())
    }

    /// Sends one command (arguments as a JSON object text) and returns its `return` line,
    /// skipping asynchronous events; an `error` reply is an error.
    pub fn execute(&mut self, cmd: &str, args: Option<&str>) -> Result<String, String> {
        let msg = match args {
            Some(a) => format!("{{\"execute\":\"{cmd}\",\"arguments\":{a}}}\n"),
            None => format!("{{\"execute\":\"{cmd}\"}}\n"),
        };
        self.writer.write_all(msg.as_bytes()).map_err(|e| format!("QMP write: {e}"))?;
        loop {
            let line = self.read_line()?;
            if line.contains("\"return\"") {
                return Ok(line);
            }
            if line.contains("\"error\"") {
                return Err(format!("QMP {cmd}: {}", line.trim()));
            }
        }
    }
}

/// JSON string literal for a path (escapes `\` and `"`).
fn json_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
