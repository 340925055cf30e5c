//! Service-level tests: the real torwatch binary against a fake upstream on loopback.

mod crash;
mod daemon;
mod disk;
mod faults;
mod hostile;
mod lookup;
mod reload;
mod restart;
mod upstream;
