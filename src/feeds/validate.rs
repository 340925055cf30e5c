//! Count rules applied to a parsed feed before it may replace the last good one (not yet implemented).
