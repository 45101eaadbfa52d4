//! A small blocking QMP client (QEMU's JSON monitor protocol) over a Unix socket: the greeting,
//! `qmp_capabilities`, commands with ids, asynchronous events kept for whoever waits for them,
//! HMP commands through `human-monitor-command`, and a timeout on every wait.
//!
//! One QMP socket serves one client at a time: while another client (libvirt, a test harness)
//! holds it, a second one connects but never gets the greeting. That is reported as such,
//! never waited for forever.

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a command's reply may take, unless the command says otherwise.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to QEMU, naming the socket.
#[derive(Debug)]
pub enum QmpError {
    /// The socket could not be connected to.
    Connect { socket: PathBuf, source: std::io::Error },
    /// Nothing (or not all of a reply) arrived in time.
    Timeout { socket: PathBuf, waiting_for: String, after: Duration },
    /// The peer closed the connection.
    Closed { socket: PathBuf, waiting_for: String },
    /// The peer sent something that is not QMP.
    Protocol { socket: PathBuf, what: String },
    /// QEMU answered a command with an error.
    Command { command: String, class: String, desc: String },
    /// Reading or writing the socket failed.
    Io { socket: PathBuf, source: std::io::Error },
}

impl std::fmt::Display for QmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect { socket, source } => write!(
                f,
                "QMP socket {}: cannot connect: {source} (is QEMU running with -qmp unix:{},server=on,wait=off?)",
                socket.display(),
                socket.display()
            ),
            Self::Timeout { socket, waiting_for, after } => write!(
                f,
                "QMP socket {}: no {waiting_for} within {} s{}",
                socket.display(),
                after.as_secs_f64(),
                if waiting_for == "greeting" {
                    " (QEMU serves one QMP client per socket: another client, e.g. libvirt, may hold it)"
                } else {
                    ""
                }
            ),
            Self::Closed { socket, waiting_for } => {
                write!(f, "QMP socket {}: closed by QEMU while waiting for {waiting_for}", socket.display())
            }
            Self::Protocol { socket, what } => write!(f, "QMP socket {}: {what}", socket.display()),
            Self::Command { command, class, desc } => write!(f, "QMP {command}: {class}: {desc}"),
            Self::Io { socket, source } => write!(f, "QMP socket {}: {source}", socket.display()),
        }
    }
}

impl std::error::Error for QmpError {}

/// One QMP event: its name, data and QEMU's timestamp (seconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `STOP`, `RESUME`, `DUMP_COMPLETED`, ...
    pub name: String,
    /// The event's `data` (`Value::Null` when it has none).
    pub data: Value,
    /// `timestamp.seconds + timestamp.microseconds / 1e6`.
    pub timestamp: f64,
}

/// What one line from QEMU is.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `{"QMP": {...}}`: the greeting, with QEMU's version when it says.
    Greeting { version: Option<(u64, u64, u64)> },
    /// `{"return": ...}` to the command with this id.
    Return { id: Option<Value>, value: Value },
    /// `{"error": {"class", "desc"}}` to the command with this id.
    Error { id: Option<Value>, class: String, desc: String },
    /// An asynchronous event.
    Event(Event),
}

impl Message {
    /// Parses one line; `Err` names what was wrong with it.
    pub fn parse(line: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e}): {}", cut(line)))?;
        let id = v.get("id").cloned();
        if let Some(g) = v.get("QMP") {
            let n = |k: &str| g.pointer(&format!("/version/qemu/{k}")).and_then(Value::as_u64);
            let version = match (n("major"), n("minor"), n("micro")) {
                (Some(a), Some(b), Some(c)) => Some((a, b, c)),
                _ => None,
            };
            return Ok(Self::Greeting { version });
        }
        if let Some(r) = v.get("return") {
            return Ok(Self::Return { id, value: r.clone() });
        }
        if let Some(e) = v.get("error") {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
            return Ok(Self::Error { id, class: s("class"), desc: s("desc") });
        }
        if let Some(name) = v.get("event").and_then(Value::as_str) {
            let t = |k: &str| v.pointer(&format!("/timestamp/{k}")).and_then(Value::as_f64).unwrap_or(0.0);
            return Ok(Self::Event(Event {
                name: name.to_owned(),
                data: v.get("data").cloned().unwrap_or(Value::Null),
                timestamp: t("seconds") + t("microseconds") / 1e6,
            }));
        }
        Err(format!("not a QMP message: {}", cut(line)))
    }
}

fn cut(s: &str) -> String {
    let s = s.trim_end();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

/// A connected, negotiated QMP session.
#[derive(Debug)]
pub struct Qmp {
    socket: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    next_id: u64,
    /// Events read while waiting for replies, oldest first.
    events: VecDeque<Event>,
    /// QEMU's version from the greeting.
    pub version: Option<(u64, u64, u64)>,
}

impl Qmp {
    /// Connects to `socket`, reads the greeting (within `timeout`) and leaves capabilities
    /// negotiation mode.
    pub fn connect(socket: &Path, timeout: Duration) -> Result<Self, QmpError> {
        let stream = UnixStream::connect(socket)
            .map_err(|source| QmpError::Connect { socket: socket.to_owned(), source })?;
        let io = |source| QmpError::Io { socket: socket.to_owned(), source };
        let writer = stream.try_clone().map_err(io)?;
        writer.set_write_timeout(Some(timeout)).map_err(io)?;
        let mut q = Self {
            socket: socket.to_owned(),
            reader: BufReader::new(stream),
            writer,
            next_id: 1,
            events: VecDeque::new(),
            version: None,
        };
        match q.read_message("greeting", Instant::now(), timeout)? {
            Message::Greeting { version } => q.version = version,
            other => {
                return Err(QmpError::Protocol {
                    socket: socket.to_owned(),
                    what: format!("the first message is not QMP's greeting: {other:?}"),
                });
            }
        }
        q.execute("qmp_capabilities", None)?;
        Ok(q)
    }

    /// The socket this session talks over.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Reads one message, waiting at most `timeout` from `start`.
    fn read_message(
        &mut self,
        waiting_for: &str,
        start: Instant,
        timeout: Duration,
    ) -> Result<Message, QmpError> {
        let mut line = String::new();
        let deadline = start + timeout;
        let socket = self.socket.clone();
        let timed_out = || QmpError::Timeout {
            socket: socket.clone(),
            waiting_for: waiting_for.to_owned(),
            after: timeout,
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(left))
                .map_err(|source| QmpError::Io { socket: self.socket.clone(), source })?;
            match self.reader.read_line(&mut line) {
                Ok(0) => {
                    return Err(QmpError::Closed {
                        socket: self.socket.clone(),
                        waiting_for: waiting_for.to_owned(),
                    });
                }
                Ok(_) if line.ends_with('\n') => break,
                // A partial line: keep what came and read on.
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(timed_out());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => return Err(QmpError::Io { socket: self.socket.clone(), source }),
            }
        }
        Message::parse(&line).map_err(|what| QmpError::Protocol { socket: self.socket.clone(), what })
    }

    /// Runs `command` (with `arguments`, a JSON object) and returns its `return` value, keeping
    /// events that arrive meanwhile; waits at most [`REPLY_TIMEOUT`].
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value, QmpError> {
        self.execute_within(command, arguments, REPLY_TIMEOUT)
    }

    /// [`Qmp::execute`] with its own timeout.
    pub fn execute_within(
        &mut self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, QmpError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "execute": command, "id": id });
        if let Some(a) = arguments {
            msg["arguments"] = a;
        }
        let mut text = msg.to_string();
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .map_err(|source| QmpError::Io { socket: self.socket.clone(), source })?;
        let start = Instant::now();
        let waiting_for = format!("reply to {command}");
        loop {
            match self.read_message(&waiting_for, start, timeout)? {
                Message::Return { id: Some(r), value } if r == id => return Ok(value),
                Message::Error { id: Some(r), class, desc } if r == id => {
                    return Err(QmpError::Command { command: command.to_owned(), class, desc });
                }
                Message::Event(e) => self.events.push_back(e),
                // Replies to other ids (none are outstanding) and stray greetings are dropped.
                _ => {}
            }
        }
    }

    /// Runs an HMP command line (`info mtree -f`, `xp /8xg 0x1000`) and returns its text.
    pub fn hmp(&mut self, command_line: &str) -> Result<String, QmpError> {
        let v = self.execute("human-monitor-command", Some(json!({ "command-line": command_line })))?;
        v.as_str().map(str::to_owned).ok_or_else(|| QmpError::Protocol {
            socket: self.socket.clone(),
            what: format!("human-monitor-command {command_line:?} returned {v}, not text"),
        })
    }

    /// Waits for the event `name` (one already received counts), at most `timeout`; other
    /// events stay queued.
    pub fn wait_event(&mut self, name: &str, timeout: Duration) -> Result<Event, QmpError> {
        let start = Instant::now();
        loop {
            if let Some(i) = self.events.iter().position(|e| e.name == name)
                && let Some(e) = self.events.remove(i)
            {
                return Ok(e);
            }
            if let Message::Event(e) = self.read_message(&format!("event {name}"), start, timeout)? {
                self.events.push_back(e);
            }
        }
    }

    /// Takes every event received so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    /// `query-status`: whether the guest runs, and the run state (`running`, `paused`, ...).
    pub fn status(&mut self) -> Result<(bool, String), QmpError> {
        let v = self.execute("query-status", None)?;
        let running = v.get("running").and_then(Value::as_bool).unwrap_or(false);
        Ok((running, v.get("status").and_then(Value::as_str).unwrap_or("?").to_owned()))
    }

    /// `query-target`: QEMU's target architecture (`x86_64`, `aarch64`, ...).
    pub fn target_arch(&mut self) -> Result<String, QmpError> {
        let v = self.execute("query-target", None)?;
        v.get("arch").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| QmpError::Protocol {
            socket: self.socket.clone(),
            what: format!("query-target returned no arch: {v}"),
        })
    }

    /// Pauses the guest's vCPUs.
    pub fn stop(&mut self) -> Result<(), QmpError> {
        self.execute("stop", None).map(drop)
    }

    /// Resumes the guest's vCPUs.
    pub fn cont(&mut self) -> Result<(), QmpError> {
        self.execute("cont", None).map(drop)
    }

    /// Writes the guest's memory to `path` as an ELF core (`dump-guest-memory`, `paging: false`,
    /// detached so the monitor stays responsive) and waits, at most `timeout`, for QEMU's
    /// `DUMP_COMPLETED`; `progress` is called with (bytes written, bytes in all) about every
    /// half second. The guest is not stopped here: for a consistent dump, [`Qmp::stop`] first
    /// and [`Qmp::cont`] after.
    pub fn dump_guest_memory(
        &mut self,
        path: &Path,
        timeout: Duration,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), QmpError> {
        // Any DUMP_COMPLETED already queued belongs to an earlier dump.
        self.events.retain(|e| e.name != "DUMP_COMPLETED");
        let protocol = format!("file:{}", path.display());
        self.execute(
            "dump-guest-memory",
            Some(json!({ "paging": false, "protocol": protocol, "detach": true })),
        )?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = left.min(Duration::from_millis(500));
            match self.wait_event("DUMP_COMPLETED", wait) {
                Ok(e) => {
                    let r = &e.data["result"];
                    let total = r.get("total").and_then(Value::as_u64).unwrap_or(0);
                    progress(r.get("completed").and_then(Value::as_u64).unwrap_or(total), total);
                    return match e.data.get("error").and_then(Value::as_str) {
                        Some(err) => Err(QmpError::Command {
                            command: "dump-guest-memory".into(),
                            class: "DUMP_COMPLETED".into(),
                            desc: format!("{err} (writing {})", path.display()),
                        }),
                        None if r.get("status").and_then(Value::as_str) == Some("failed") => {
                            Err(QmpError::Command {
                                command: "dump-guest-memory".into(),
                                class: "DUMP_COMPLETED".into(),
                                desc: format!("the dump to {} failed", path.display()),
                            })
                        }
                        None => Ok(()),
                    };
                }
                Err(QmpError::Timeout { .. }) if !left.is_zero() => {
                    let q = self.execute("query-dump", None)?;
                    let n = |k: &str| q.get(k).and_then(Value::as_u64).unwrap_or(0);
                    progress(n("completed"), n("total"));
                }
                Err(QmpError::Timeout { .. }) => {
                    return Err(QmpError::Timeout {
                        socket: self.socket.clone(),
                        waiting_for: format!("DUMP_COMPLETED (dumping to {})", path.display()),
                        after: timeout,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn qmp_messages_parse_with_their_values() {
        let g = r#"{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian 1:10.0.2+ds-2"}, "capabilities": ["oob"]}}"#;
        assert_eq!(Message::parse(g), Ok(Message::Greeting { version: Some((10, 0, 2)) }));
        assert_eq!(
            Message::parse(r#"{"return": {"running": true, "status": "running"}, "id": 3}"#),
            Ok(Message::Return { id: Some(json!(3)), value: json!({"running": true, "status": "running"}) })
        );
        assert_eq!(
            Message::parse(
                r#"{"id": 4, "error": {"class": "GenericError", "desc": "Parameter 'protocol' is missing"}}"#
            ),
            Ok(Message::Error {
                id: Some(json!(4)),
                class: "GenericError".into(),
                desc: "Parameter 'protocol' is missing".into()
            })
        );
        let e = r#"{"timestamp": {"seconds": 1700000000, "microseconds": 250000}, "event": "DUMP_COMPLETED", "data": {"result": {"total": 536870912, "status": "completed", "completed": 536870912}}}"#;
        let Ok(Message::Event(ev)) = Message::parse(e) else { panic!("not an event") };
        assert_eq!(ev.name, "DUMP_COMPLETED");
        assert_eq!(ev.timestamp, 1_700_000_000.25);
        assert_eq!(ev.data["result"]["total"], json!(536_870_912u64));
        assert!(Message::parse("{\"hello\": 1}").unwrap_err().starts_with("not a QMP message"));
        assert!(Message::parse("garbage").unwrap_err().starts_with("not JSON"));
    }

    /// A scripted QEMU: answers each request line with the next canned lines.
    fn fake_qemu(
        script: Vec<(&'static str, Vec<&'static str>)>,
    ) -> (tempdir::Dir, std::thread::JoinHandle<Vec<String>>) {
        let dir = tempdir::Dir::new();
        let listener = UnixListener::bind(dir.path().join("qmp.sock")).unwrap();
        let handle = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = BufReader::new(s);
            w.write_all(b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 9}}, \"capabilities\": []}}\r\n")
                .unwrap();
            let mut seen = Vec::new();
            for (expect, replies) in script {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                assert!(line.contains(expect), "expected {expect} in {line}");
                seen.push(line.trim().to_owned());
                for reply in replies {
                    w.write_all(reply.as_bytes()).unwrap();
                    w.write_all(b"\r\n").unwrap();
                }
            }
            seen
        });
        (dir, handle)
    }

    mod tempdir {
        /// A private directory under the system's temp dir, removed on drop.
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let p = std::env::temp_dir().join(format!("scxray-qmp-test-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Self(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_session_negotiates_keeps_events_and_matches_replies_by_id() {
        let (dir, qemu) = fake_qemu(vec![
            ("qmp_capabilities", vec![r#"{"return": {}, "id": 1}"#]),
            (
                "\"stop\"",
                vec![
                    r#"{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "STOP"}"#,
                    r#"{"return": {}, "id": 2}"#,
                ],
            ),
            ("info ramblock", vec![r#"{"return": "  Block Name ...\r\n", "id": 3}"#]),
            ("query-target", vec![r#"{"id": 4, "error": {"class": "CommandNotFound", "desc": "no"}}"#]),
        ]);
        let mut q = Qmp::connect(&dir.path().join("qmp.sock"), Duration::from_secs(5)).unwrap();
        assert_eq!(q.version, Some((9, 2, 0)));
        q.stop().unwrap();
        assert_eq!(q.hmp("info ramblock").unwrap(), "  Block Name ...\r\n");
        let err = q.target_arch().unwrap_err().to_string();
        assert_eq!(err, "QMP query-target: CommandNotFound: no");
        let ev = q.wait_event("STOP", Duration::from_millis(10)).unwrap();
        assert_eq!((ev.name.as_str(), ev.timestamp), ("STOP", 1.0));
        drop(q);
        let seen = qemu.join().unwrap();
        assert_eq!(seen[1], r#"{"execute":"stop","id":2}"#);
        assert_eq!(
            seen[2],
            r#"{"arguments":{"command-line":"info ramblock"},"execute":"human-monitor-command","id":3}"#
        );
    }

    #[test]
    fn dump_guest_memory_waits_for_dump_completed_and_reports_progress() {
        let (dir, qemu) = fake_qemu(vec![
            ("qmp_capabilities", vec![r#"{"return": {}, "id": 1}"#]),
            ("dump-guest-memory", vec![r#"{"return": {}, "id": 2}"#]),
            (
                "query-dump",
                vec![r#"{"return": {"status": "active", "completed": 4096, "total": 8192}, "id": 3}"#],
            ),
            (
                "query-dump",
                vec![
                    r#"{"return": {"status": "completed", "completed": 8192, "total": 8192}, "id": 4}"#,
                    r#"{"timestamp": {"seconds": 2, "microseconds": 0}, "event": "DUMP_COMPLETED", "data": {"result": {"total": 8192, "status": "completed", "completed": 8192}}}"#,
                ],
            ),
        ]);
        let mut q = Qmp::connect(&dir.path().join("qmp.sock"), Duration::from_secs(5)).unwrap();
        let mut seen = Vec::new();
        // Keep the fake from answering before the client asks: the query-dump polls come every
        // 500 ms while no event arrives.
        q.dump_guest_memory(Path::new("/tmp/x.core"), Duration::from_secs(10), &mut |c, t| seen.push((c, t)))
            .unwrap();
        assert_eq!(seen.first(), Some(&(4096, 8192)));
        assert_eq!(seen.last(), Some(&(8192, 8192)));
        drop(q);
        let lines = qemu.join().unwrap();
        assert_eq!(
            lines[1],
            r#"{"arguments":{"detach":true,"paging":false,"protocol":"file:/tmp/x.core"},"execute":"dump-guest-memory","id":2}"#
        );
    }

    #[test]
    fn a_silent_socket_is_a_timeout_that_says_another_client_may_hold_it() {
        let dir = tempdir::Dir::new();
        let path = dir.path().join("held.sock");
        let _listener = UnixListener::bind(&path).unwrap();
        let t = Instant::now();
        let err = Qmp::connect(&path, Duration::from_millis(300)).unwrap_err().to_string();
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(err.contains("no greeting within 0.3 s"), "{err}");
        assert!(err.contains("another client"), "{err}");
        let err = Qmp::connect(&dir.path().join("absent.sock"), Duration::from_millis(300)).unwrap_err();
        assert!(
            err.to_string().contains("cannot connect") && err.to_string().contains("-qmp unix:"),
            "{err}"
        );
    }
}
