//! Service-level tests: the real torwatch binary against a fake upstream on loopback.

mod access;
mod daemon;
mod edl;
mod faults;
mod limits;
mod lookup;
mod reload;
mod restart;
mod tls;
mod upstream;
