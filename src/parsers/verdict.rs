//! The words devices use for what they did with a connection (`deny`, `Blocked`, `reset-both`, `accept`, …), mapped
//! to an [`Action`]. Case-insensitive, on borrowed bytes; no IO, no allocation.

use crate::event::Action;

/// Maps one action word to an [`Action`]; `None` for words that say nothing about the verdict.
///
/// Words for a session the device let through (`close`, `timeout`, `alert`, `detected`, …) are `Allow`; resets
/// are `Reject` (the peer is told); silent discards are `Drop`.
pub fn from_word(word: &[u8]) -> Option<Action> {
    let mut buf = [0u8; 24];
    let word = word.trim_ascii();
    if word.is_empty() || word.len() > buf.len() {
        return None;
    }
    for (d, c) in buf.iter_mut().zip(word) {
        *d = c.to_ascii_lowercase();
    }
    let action = match buf.get(..word.len())? {
        b"drop" | b"dropped" | b"deny" | b"denied" | b"block" | b"blocked" | b"discard"
        | b"discarded" | b"drop-all" | b"drop-all-packets" | b"drop-icmp" | b"random-drop"
        | b"block-ip" | b"block-url" | b"block-continue" | b"block-override" | b"sinkhole"
        | b"clear_session" | b"prevent" | b"prevented" | b"quarantine" | b"deny-all" => {
            Action::Drop
        }
        b"reject" | b"rejected" | b"reset" | b"reset-both" | b"reset-client" | b"reset-server"
        | b"refuse" | b"refused" => Action::Reject,
        b"accept" | b"accepted" | b"allow" | b"allowed" | b"permit" | b"permitted" | b"pass"
        | b"passed" | b"passthrough" | b"close" | b"closed" | b"timeout" | b"server-rst"
        | b"client-rst" | b"ip-conn" | b"start" | b"end" | b"continue" | b"alert" | b"detected"
        | b"monitor" | b"bypass" | b"decrypt" | b"encrypt" | b"redirect" | b"override" | b"dns" => {
            Action::Allow
        }
        _ => return None,
    };
    Some(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(from_word(b"Deny"), Some(Action::Drop));
        assert_eq!(from_word(b"BLOCKED"), Some(Action::Drop));
        assert_eq!(from_word(b"reset-both"), Some(Action::Reject));
        assert_eq!(from_word(b"server-rst"), Some(Action::Allow));
        assert_eq!(from_word(b" Accept "), Some(Action::Allow));
        assert_eq!(from_word(b"www.example.com"), None);
        assert_eq!(from_word(b""), None);
    }
}
