//! The host's side of the wire format (`scxray-wire`): [`request()`] encodes what an embedded
//! scxray needs to walk a configured [`crate::Target`], and [`decode()`] turns the dump it sends
//! back into the report `scxray dump` prints for the same guest.

mod decode;
mod request;

pub use decode::decode;
pub use request::request;
