//! Parser for the `access` log format (not yet implemented).

use super::ParseError;
use crate::event::Event;

pub fn sniff(_line: &[u8]) -> bool {
    false
}

pub fn parse(_line: &[u8]) -> Result<Event<'_>, ParseError> {
    Err(ParseError::UnknownFormat)
}
