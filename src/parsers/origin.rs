//! Where a line came from: an event's missing time and device taken from the syslog header in front of the line
//! (RFC 3164 / RFC 5424, split by [`super::syslog`]). The header is read only when the payload left a gap.

use super::syslog::{self, Stamps};
use crate::event::Event;

/// Fills `event.time` and `event.device` from the line's syslog header where the payload had none.
pub fn fill_from_header<'a>(line: &'a [u8], stamps: &mut Stamps, event: &mut Event<'a>) {
    if event.time.is_some() && event.device.is_some() {
        return;
    }
    let (header, _) = syslog::split(line, stamps);
    event.time = event.time.or(header.time);
    event.device = event.device.or(header.host);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_only_gaps() {
        let line = b"<14>1 2025-03-04T10:15:02Z fw-7 app - - - payload";
        let mut empty = Event::default();
        fill_from_header(line, &mut Stamps::default(), &mut empty);
        assert_eq!(empty.time, Some(1_741_083_302));
        assert_eq!(empty.device, Some("fw-7"));
        let mut full = Event {
            time: Some(1),
            device: Some("own"),
            ..Event::default()
        };
        fill_from_header(line, &mut Stamps::default(), &mut full);
        assert_eq!((full.time, full.device), (Some(1), Some("own")));
        let mut bare = Event::default();
        fill_from_header(b"no header here", &mut Stamps::default(), &mut bare);
        assert_eq!((bare.time, bare.device), (None, None));
    }
}
