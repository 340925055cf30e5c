//! Service-level tests: the real torwatch binary against a fake upstream on loopback.

mod access;
mod crash;
pub mod daemon;
mod disk;
mod edl;
mod faults;
mod follower;
mod fresh;
mod guard;
mod hostile;
mod limits;
mod lookup;
mod reload;
mod restart;
mod scan;
mod stale;
mod tls;
mod unchanged;
pub mod upstream;
