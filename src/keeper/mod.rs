//! The exit list keeper: schedules the sources, validates what they return, merges them into the lists with
//! their history, persists the last good state and publishes each new [`Snapshot`] by swapping it atomically.
//! It is the only writer of the lists; readers never wait for it.

pub mod history;
