//! `plain` feed parser (not yet implemented).

use super::{Feed, FeedError};

pub fn parse(_body: &[u8]) -> Result<Feed, FeedError> {
    Err(FeedError::Malformed("not implemented".into()))
}
