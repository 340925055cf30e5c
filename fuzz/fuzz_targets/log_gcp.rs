//! The gcp reader on any bytes (see reader.rs for what it checks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use torwatch::parsers::LogFormat;

#[path = "reader.rs"]
mod reader;

fuzz_target!(|line: &[u8]| reader::check(LogFormat::Gcp, line));
