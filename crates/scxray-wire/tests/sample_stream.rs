//! The sample stream: what a VMM's monitor writes (the sampler and the encoder, no host crate)
//! reads back sample for sample, with other capacities too; a damaged frame costs that frame
//! only; another stream is refused.

use scxray_core::{Consistency, Sample};
use scxray_tests::sampled_machine;
use scxray_wire::{SampleReader, WireError, encode_sample, encode_samples_header};

type Embedded = Sample<8, 32, 4, 3>;
type Host = Sample<64, 256, 32, 8>;

/// Two samples of the kit's sampled machine, the second after a DSQ moved, as a stream.
fn stream() -> (Vec<u8>, [Embedded; 2]) {
    let (mut g, spec) = sampled_machine();
    let mut out = vec![0u8; 8192];
    let mut n = encode_samples_header(&mut out).unwrap();
    let mut first = Embedded::default();
    g.with(|guest| guest.sample_into(&spec, &mut first));
    n += encode_sample(&first, &mut out[n..]).unwrap();
    let user = first.dsqs.iter().find(|d| d.id == 0x42).unwrap().kva;
    let seq_at = scxray_tests::KitAddr::at(user, g.layout.dsq.unwrap().seq);
    let pa = g.map.pa(seq_at.0) as usize - g.mem_base as usize;
    g.mem[pa..pa + 4].copy_from_slice(&18u32.to_le_bytes());
    let mut second = Embedded::default();
    g.with(|guest| guest.sample_into(&spec, &mut second));
    n += encode_sample(&second, &mut out[n..]).unwrap();
    out.truncate(n);
    (out, [first, second])
}

#[test]
fn samples_read_back_as_written_with_larger_capacities() {
    let (mut bytes, [first, second]) = stream();
    assert_eq!(first.consistency, Consistency::Stable);
    assert_eq!(second.dsqs.iter().find(|d| d.id == 0x42).unwrap().seq, 18);
    // Frames are zero-terminated and hold no other zero.
    assert_eq!(bytes.iter().filter(|&&b| b == 0).count(), 3);
    let mut r = SampleReader::new(&mut bytes).unwrap();
    let a: Host = r.next_sample().unwrap().unwrap();
    let b: Host = r.next_sample().unwrap().unwrap();
    assert!(r.next_sample::<64, 256, 32, 8>().is_none());
    for (read, written) in [(&a, &first), (&b, &second)] {
        assert_eq!(read.jiffies, written.jiffies);
        assert_eq!(read.root, written.root);
        assert_eq!(read.cpus.as_slice(), written.cpus.as_slice());
        assert_eq!(read.dsqs.as_slice(), written.dsqs.as_slice());
        assert_eq!(read.events.as_slice(), written.events.as_slice());
        assert_eq!(read.oldest.as_slice(), written.oldest.as_slice());
        assert_eq!(read.consistency, written.consistency);
    }
    assert_eq!(a.events.as_slice(), [10, 100]);
    assert_eq!(a.oldest[0].pid, Some(303));
}

#[test]
fn a_damaged_frame_costs_that_frame_and_other_streams_are_refused() {
    let (mut bytes, [_, second]) = stream();
    // Cut the first sample's frame short (postcard has no checksum: a flipped byte may still
    // decode, a frame without its end does not).
    let header_end = bytes.iter().position(|&b| b == 0).unwrap();
    let sample_end = header_end + 1 + bytes[header_end + 1..].iter().position(|&b| b == 0).unwrap();
    bytes.drain(header_end + 20..sample_end);
    let mut r = SampleReader::new(&mut bytes).unwrap();
    assert!(r.next_sample::<8, 32, 4, 3>().unwrap().is_err());
    let b: Embedded = r.next_sample().unwrap().unwrap();
    assert_eq!(b, second);

    // Too small a capacity for what was written is an error, not a cut sample.
    let (mut bytes, _) = stream();
    let mut r = SampleReader::new(&mut bytes).unwrap();
    assert_eq!(r.next_sample::<2, 32, 4, 3>().unwrap().err(), Some(WireError::Malformed));

    let mut other = postcard::to_stdvec_cobs(&scxray_wire::Header::DUMP).unwrap();
    assert_eq!(SampleReader::new(&mut other).err(), Some(WireError::Magic { found: *b"SXDP" }));
    let mut empty = Vec::new();
    assert_eq!(SampleReader::new(&mut empty).err(), Some(WireError::Malformed));
}
