//! torwatch: keeps the Tor exit list current, publishes it to firewalls, reads their drop logs and exposes what it
//! sees as Prometheus metrics. See ARCHITECTURE.md for the map.

pub mod address;
pub mod atomic_file;
pub mod cli;
pub mod clock;
pub mod config;
pub mod event;
pub mod explain;
pub mod feeds;
pub mod formats;
pub mod http;
pub mod inputs;
pub mod keeper;
pub mod last_day;
pub mod list;
pub mod matcher;
pub mod parsers;
pub mod pipeline;
pub mod problems;
pub mod publish;
pub mod reader;
pub mod scan;
pub mod service;
pub mod slots;
pub mod snapshot;
pub mod sources;
pub mod status;
