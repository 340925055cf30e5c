//! What a vendor's record says of a login, shared by the readers of logins inside firewall formats: its outcome
//! words (`success`, `auth-fail`, `negotiate_error`, `User Password Failure`) and the [`Login`] a record states,
//! which makes an event an `auth` event. No IO, no allocation.

use memchr::memmem;

use crate::event::{Action, Event, Kind, Service};

/// A login as one record states it: how it ended and what it was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login {
    pub action: Option<Action>,
    pub service: Option<Service>,
}

impl Login {
    /// Makes `event` an `auth` event with this outcome and service.
    pub fn apply(self, event: &mut Event<'_>) {
        event.kind = Kind::Auth;
        event.action = self.action;
        event.service = self.service;
    }
}

/// An outcome word: one that holds `succ` → allow; `fail`, `error`, `denied`, `reject` or `timeout` → fail;
/// anything else (`challenge`, `connected`) → none. Case-insensitive; words over 48 bytes say nothing.
pub fn outcome(word: &[u8]) -> Option<Action> {
    let mut buf = [0u8; 48];
    let lower = buf.get_mut(..word.len())?;
    lower.copy_from_slice(word);
    lower.make_ascii_lowercase();
    let holds = |w: &[u8]| memmem::find(lower, w).is_some();
    if holds(b"succ") {
        Some(Action::Allow)
    } else if [&b"fail"[..], b"error", b"denied", b"reject", b"timeout"]
        .iter()
        .any(|w| holds(w))
    {
        Some(Action::Fail)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_words() {
        for (word, want) in [
            ("success", Some(Action::Allow)),
            ("auth-success", Some(Action::Allow)),
            ("globalprotectportal-auth-succ", Some(Action::Allow)),
            ("Failed", Some(Action::Fail)),
            ("failure", Some(Action::Fail)),
            ("negotiate_error", Some(Action::Fail)),
            ("User Password Failure", Some(Action::Fail)),
            ("auth-challenge", None),
            ("", None),
        ] {
            assert_eq!(outcome(word.as_bytes()), want, "{word}");
        }
    }
}
