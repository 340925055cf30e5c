//! torwatch: keeps the Tor exit list current, publishes it to firewalls, reads their drop logs and exposes what it
//! sees as Prometheus metrics. See ARCHITECTURE.md for the map.

pub mod event;
pub mod explain;
pub mod feeds;
pub mod formats;
pub mod lists;
pub mod parsers;
