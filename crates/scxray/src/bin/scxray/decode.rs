//! `scxray decode`: the report of a wire dump an embedded scxray wrote.

use crate::args::{Format, print_report};
use clap::Args;
use scxray::Error;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// The postcard-encoded dump an embedded serve or DumpWriter wrote (wire format version 4;
    /// another version is refused, naming the version found).
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

pub fn run(d: &DecodeArgs) -> Result<(), Error> {
    let bytes = std::fs::read(&d.file).map_err(|e| Error::io(&d.file, e))?;
    let report = scxray::wire::decode(&bytes)?;
    print_report(&report, d.format)
}
