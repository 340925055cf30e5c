//! The problems `/readyz` lists, by owner: each part of the service (the publisher, each input) replaces its own
//! list whenever it changes and clears it when it stops; readers get every owner's list, in owner order. Problem
//! texts are shown without access control: they name paths and OS errors, never URLs' queries or commands' output.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Problems {
    by_owner: Mutex<BTreeMap<String, Vec<String>>>,
}

impl Problems {
    /// Replaces the problems of `owner` (an empty list clears them).
    pub fn set(&self, owner: &str, problems: Vec<String>) {
        let Ok(mut by_owner) = self.by_owner.lock() else {
            return;
        };
        if problems.is_empty() {
            by_owner.remove(owner);
        } else {
            by_owner.insert(owner.to_owned(), problems);
        }
    }

    /// Every current problem.
    pub fn list(&self) -> Vec<String> {
        self.by_owner
            .lock()
            .map(|by_owner| by_owner.values().flatten().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Problems;

    #[test]
    fn owners_replace_and_clear_their_own() {
        let p = Problems::default();
        p.set("publish", vec!["write /x: read-only".into()]);
        p.set(
            "input:kernel",
            vec!["/var/log/kern.log does not exist".into()],
        );
        assert_eq!(p.list().len(), 2);
        p.set("publish", Vec::new());
        assert_eq!(p.list(), ["/var/log/kern.log does not exist"]);
    }
}
