//! Values decoded with hostile BTF: any blob (base, or split on a base), any type id, any
//! value bytes, decoded to a visitor that checks the stream's shape, to text in both styles,
//! and `locate` at any offset. Never a panic; every walk bounded by its caps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxray_btf::{
    Btf, DecodeLimits, Field, Flow, MAX_DECODE_DEPTH, NoNames, Style, Value, ValueVisitor, format_value,
};

/// Checks what every decode promises: ends match begins, paths within the cap.
#[derive(Default)]
struct Shape {
    open: usize,
    seen: u32,
}

impl<'a> ValueVisitor<'a> for Shape {
    fn visit(&mut self, field: &Field<'_, 'a>, value: &Value<'_, 'a>) -> Flow {
        assert!(field.path.len() <= MAX_DECODE_DEPTH + 1);
        self.seen += 1;
        match value {
            Value::Begin { .. } | Value::ArrayBegin { .. } => self.open += 1,
            Value::End | Value::ArrayEnd { .. } => {
                self.open = self.open.checked_sub(1).expect("end without begin")
            }
            _ => {}
        }
        Flow::Continue
    }
}

fn exercise(btf: &Btf<'_>, type_id: u32, value: &[u8], limits: &DecodeLimits) {
    let mut shape = Shape::default();
    if let Ok(summary) = btf.decode_value(type_id, &mut &value[..], limits, &mut shape) {
        assert_eq!(shape.open, 0, "a complete decode closes what it opened");
        assert!(summary.nodes <= limits.max_nodes);
    }
    for style in [Style::Compact, Style::Pretty { indent: 2 }] {
        let mut out = String::new();
        let _ = format_value(btf, type_id, &mut &value[..], limits, style, NoNames, &mut out);
    }
    let _ = btf.locate(type_id, u64::try_from(value.len()).unwrap_or(0) / 2, limits);
    let _ = btf.type_size(type_id);
}

fuzz_target!(|data: &[u8]| {
    // Header: mode (bit 0: split), type id (u32), value length (u16), caps byte; then the
    // value bytes, then the blob(s) (split: a u32 base length first).
    let Some((head, rest)) = data.split_first_chunk::<8>() else { return };
    let [mode, t0, t1, t2, t3, l0, l1, caps] = *head;
    let type_id = u32::from_le_bytes([t0, t1, t2, t3]);
    let value_len = usize::from(u16::from_le_bytes([l0, l1])).min(rest.len());
    let (value, blob) = rest.split_at(value_len);
    let limits = DecodeLimits {
        max_depth: usize::from(caps & 0x1f) + 1,
        max_array_elems: u32::from(caps >> 5) * 40 + 1,
        max_nodes: 2048,
        max_string: 64,
    };
    if mode & 1 == 0 {
        let Ok(btf) = Btf::parse(blob) else { return };
        exercise(&btf, type_id % (btf.last_id() + 2), value, &limits);
    } else {
        let Some((len, rest)) = blob.split_first_chunk::<4>() else { return };
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (base, split) = rest.split_at(len);
        let Ok(base) = Btf::parse(base) else { return };
        let Ok(btf) = Btf::parse_split(split, &base) else { return };
        exercise(&btf, type_id % (btf.last_id() + 2), value, &limits);
    }
});
