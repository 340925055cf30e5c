//! The syslog header in front of a logged message (RFC 3164 / RFC 5424 / file prefixes): split it off, keep the
//! time and host. Pure, no allocation.
