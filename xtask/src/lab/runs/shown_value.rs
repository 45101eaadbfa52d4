//! scxray's text form of a BPF value (`{.vtime_now = 3060000000}`, `[0, 1, …+30]`,
//! `"fmt"`, `0x1000 (arena+0x0)`), read back into a tree, so the lab can compare it field by
//! field with what the guest's own bpftool printed (see [`super::bpf_truth`]).

/// A value as scxray's report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// `{.name = value, ...}`; a member without a name (an anonymous struct or union) has `""`.
    Struct(Vec<(String, Shown)>),
    /// `[a, b]`; `cut` when scxray showed only the first elements (`…+N`).
    Array { items: Vec<Shown>, cut: bool },
    /// A character array, unescaped.
    Str(String),
    /// A number, `true`/`false`, an enumerator's name, a pointer (`0x...`, with the name of what
    /// it points to after it), `<opaque>`, or a byte string (a value without BTF).
    Atom(String),
}

impl Shown {
    /// Reads scxray's text form; `None` when `text` is not one whole value.
    pub fn parse(text: &str) -> Option<Shown> {
        let mut p = Parser { s: text.as_bytes(), at: 0, cut: false };
        let v = p.value()?;
        p.skip_space();
        (p.at == p.s.len()).then_some(v)
    }

    /// Reads a text the report cut short (its long values end in ` ...`): what it shows, every
    /// struct and array still open closed there.
    pub fn parse_cut(text: &str) -> Option<Shown> {
        let Some(shown) = text.strip_suffix("...") else { return Self::parse(text) };
        Parser { s: shown.as_bytes(), at: 0, cut: true }.value()
    }

    /// The member `name` of a struct.
    pub fn member(&self, name: &str) -> Option<&Shown> {
        match self {
            Shown::Struct(m) => m.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of an integer atom (decimal or `0x` hexadecimal, anything after a space left
    /// out).
    pub fn integer(&self) -> Option<i128> {
        match self {
            Shown::Atom(a) => {
                let a = a.split(' ').next().unwrap_or_default();
                match a.strip_prefix("0x") {
                    Some(hex) => i128::from_str_radix(hex, 16).ok(),
                    None => a.parse().ok(),
                }
            }
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    /// The text was cut short: its end closes whatever is open.
    cut: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// At the end of a text cut short.
    fn at_cut(&self) -> bool {
        self.cut && self.at == self.s.len()
    }

    fn skip_space(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    fn eat(&mut self, text: &str) -> bool {
        let found = self.s[self.at..].starts_with(text.as_bytes());
        if found {
            self.at += text.len();
        }
        found
    }

    fn value(&mut self) -> Option<Shown> {
        self.skip_space();
        match self.peek()? {
            b'{' => self.members(),
            b'[' => self.items(),
            b'"' => self.string(),
            _ => self.atom(),
        }
    }

    /// `{.a = 1, {.b = 2}}`.
    fn members(&mut self) -> Option<Shown> {
        self.at += 1;
        let mut members = Vec::new();
        loop {
            self.skip_space();
            if self.eat("}") || self.at_cut() {
                return Some(Shown::Struct(members));
            }
            let name = if self.eat(".") {
                let start = self.at;
                let Some(len) = self.s[start..].windows(3).position(|w| w == b" = ") else {
                    // A name the cut went through.
                    self.at = if self.cut { self.s.len() } else { return None };
                    return Some(Shown::Struct(members));
                };
                self.at = start + len + 3;
                String::from_utf8_lossy(&self.s[start..start + len]).into_owned()
            } else {
                String::new()
            };
            let value = self.value()?;
            if self.at_cut() && matches!(value, Shown::Atom(_) | Shown::Str(_)) {
                // A number or string the cut may have gone through.
                return Some(Shown::Struct(members));
            }
            members.push((name, value));
            self.skip_space();
            if !self.eat(",") && self.peek() != Some(b'}') && !self.at_cut() {
                return None;
            }
        }
    }

    /// `[1, 2, …+3]`.
    fn items(&mut self) -> Option<Shown> {
        self.at += 1;
        let (mut items, mut cut) = (Vec::new(), false);
        loop {
            self.skip_space();
            if self.eat("]") || self.at_cut() {
                return Some(Shown::Array { items, cut: cut || self.cut });
            }
            if self.eat("…+") {
                cut = true;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.at += 1;
                }
            } else {
                let value = self.value()?;
                if self.at_cut() && matches!(value, Shown::Atom(_) | Shown::Str(_)) {
                    return Some(Shown::Array { items, cut: true });
                }
                items.push(value);
            }
            self.skip_space();
            if !self.eat(",") && self.peek() != Some(b']') && !self.at_cut() {
                return None;
            }
        }
    }

    /// `"a\"b\x01"` (Rust's `escape_debug`, bytes that are not UTF-8 as `\xNN`), `…` after it
    /// when cut.
    fn string(&mut self) -> Option<Shown> {
        self.at += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            if self.at_cut() {
                return Some(Shown::Str(String::from_utf8_lossy(&out).into_owned()));
            }
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    self.eat("…");
                    return Some(Shown::Str(String::from_utf8_lossy(&out).into_owned()));
                }
                b'\\' => {
                    self.at += 1;
                    let c = self.peek()?;
                    self.at += 1;
                    match c {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'0' => out.push(0),
                        b'x' => {
                            let hex = std::str::from_utf8(self.s.get(self.at..self.at + 2)?).ok()?;
                            out.push(u8::from_str_radix(hex, 16).ok()?);
                            self.at += 2;
                        }
                        b'u' => {
                            let end = self.s[self.at..].iter().position(|&b| b == b'}')?;
                            let hex = std::str::from_utf8(&self.s[self.at + 1..self.at + end]).ok()?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            out.extend(c.to_string().bytes());
                            self.at += end + 1;
                        }
                        other => out.push(other),
                    }
                }
                c => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    /// Up to the next `,`, `}` or `]` outside parentheses: `12`, `0x10 (arena+0x10)`.
    fn atom(&mut self) -> Option<Shown> {
        let start = self.at;
        let mut depth = 0u32;
        while let Some(c) = self.peek() {
            match c {
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b',' | b'}' | b']' if depth == 0 => break,
                _ => {}
            }
            self.at += 1;
        }
        let text = String::from_utf8_lossy(&self.s[start..self.at]).trim_end().to_owned();
        (!text.is_empty()).then_some(Shown::Atom(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(a: &str) -> Shown {
        Shown::Atom(a.into())
    }

    #[test]
    fn reads_back_what_scxray_shows() {
        let v = Shown::parse(
            "{.a = 1, .b.c = {.val = 103, {.idx = -3, .genn = 0}}, .s = \"x\\\"y\\x01\\u{e9}\"…, \
             .p = 0x100000008780 (arena+0x8780), .l = [true, false, …+30], .e = SCX_DSQ_LOCAL}",
        )
        .unwrap();
        assert_eq!(v.member("a"), Some(&atom("1")));
        assert_eq!(
            v.member("b.c"),
            Some(&Shown::Struct(vec![
                ("val".into(), atom("103")),
                (String::new(), Shown::Struct(vec![("idx".into(), atom("-3")), ("genn".into(), atom("0"))])),
            ]))
        );
        assert_eq!(v.member("s"), Some(&Shown::Str("x\"y\u{1}é".into())));
        assert_eq!(v.member("p").and_then(Shown::integer), Some(0x1000_0000_8780));
        assert_eq!(
            v.member("l"),
            Some(&Shown::Array { items: vec![atom("true"), atom("false")], cut: true })
        );
        assert_eq!(v.member("e"), Some(&atom("SCX_DSQ_LOCAL")));
        assert_eq!(Shown::parse("{}"), Some(Shown::Struct(vec![])));
        assert_eq!(Shown::parse("18446744073709551615").and_then(|v| v.integer()), Some(u64::MAX.into()));
        assert_eq!(Shown::parse("{.a = 1"), None);
        assert_eq!(
            Shown::parse_cut("{.qa = {.n = 3, .l = [1, 22..."),
            Some(Shown::Struct(vec![(
                "qa".into(),
                Shown::Struct(vec![
                    ("n".into(), atom("3")),
                    ("l".into(), Shown::Array { items: vec![atom("1")], cut: true })
                ])
            )]))
        );
        assert_eq!(Shown::parse("{.a = 1} x"), None);
    }
}
