pub mod backoff;
pub mod fetch;
