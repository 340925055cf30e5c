//! Logins in CEF, LEEF and Check Point records: an action that names one (Check Point's `Log In`, `Failed Log In`,
//! `Log Out`; `login` / `logon` and their failures), and a message that names the user's address when the record
//! has no address field (WatchGuard: `Authentication of SSLVPN user [u] from A was rejected`, `SSL VPN user u
//! from A logged in`, `WSM User u from A log in attempt was rejected`). No IO, no allocation.

use std::net::IpAddr;

use memchr::memmem;

use crate::address::parse_ip;
use crate::event::{Action, Service};
pub use crate::parsers::login::Login;

/// Lower-case copy of up to 64 bytes (longer text: its first 64).
fn lower(text: &[u8], buf: &mut [u8; 64]) -> usize {
    let n = text.len().min(buf.len());
    for (d, c) in buf.iter_mut().zip(text) {
        *d = c.to_ascii_lowercase();
    }
    n
}

/// The login an action word names: `Log In` / `login` / `logon` → allow, the same with `fail` → fail, `Log Out`
/// / `logout` / `logoff` → no outcome. `None` for any other action.
pub fn of_action(word: &[u8]) -> Option<Login> {
    let mut buf = [0u8; 64];
    let n = lower(word.trim_ascii(), &mut buf);
    let w = buf.get(..n)?;
    let squeezed = |w: &[u8], phrase: &[u8]| {
        // `Log In`, `log-in`, `login` alike.
        let mut it = w.iter().filter(|c| c.is_ascii_alphabetic());
        phrase.iter().all(|p| it.next() == Some(p)) && it.next().is_none()
    };
    let holds = |p: &[u8]| memmem::find(w, p).is_some();
    let (login, logout) = (
        [&b"login"[..], b"logon"].iter().any(|p| squeezed(w, p)),
        [&b"logout"[..], b"logoff"].iter().any(|p| squeezed(w, p)),
    );
    let failed_login = (holds(b"fail") || holds(b"reject") || holds(b"denied"))
        && [&b"log in"[..], b"login", b"logon", b"log on"]
            .iter()
            .any(|p| holds(p));
    let action = if failed_login {
        Some(Action::Fail)
    } else if login {
        Some(Action::Allow)
    } else if logout {
        None
    } else {
        return None;
    };
    Some(Login {
        action,
        service: None,
    })
}

/// A login message that names the user's address (`… from A …`): the address (the last `from A`: a user name
/// comes first) and what the message says of the login. `None` for a message that is not about a login or names
/// no address.
pub fn of_message(msg: &[u8]) -> Option<(IpAddr, Login)> {
    let said = |p: &[u8]| memmem::find(msg, p).is_some();
    let about_login = [
        &b"Authentication"[..],
        b"authentication",
        b"logged in",
        b"logged out",
        b"log in",
        b"login",
        b"Login",
        b"logon",
    ]
    .iter()
    .any(|p| said(p));
    if !about_login {
        return None;
    }
    let src = memmem::rfind_iter(msg, b" from ").find_map(|at| {
        let value = msg.get(at + b" from ".len()..)?;
        let end = value
            .iter()
            .position(|&c| matches!(c, b' ' | b',' | b';' | b')' | b']'))
            .unwrap_or(value.len());
        let word = value.get(..end)?;
        parse_ip(word).or_else(|| parse_ip(word.strip_suffix(b".")?))
    })?;
    let action = if said(b"rejected") || said(b"failed") || said(b"denied") || said(b"invalid") {
        Some(Action::Fail)
    } else if said(b"accepted") || said(b"logged in") || said(b"succeeded") || said(b"successful") {
        Some(Action::Allow)
    } else {
        None
    };
    let service = if said(b"SSLVPN")
        || said(b"SSL VPN")
        || said(b"IPSec")
        || said(b"Mobile VPN")
        || said(b"L2TP")
    {
        Some(Service::Vpn)
    } else if said(b"WSM") || said(b"Web UI") || said(b"Management") || said(b"management") {
        Some(Service::Admin)
    } else {
        None
    };
    Some((src, Login { action, service }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_words() {
        let fail = Some(Login {
            action: Some(Action::Fail),
            service: None,
        });
        assert_eq!(of_action(b"Failed Log In"), fail);
        assert_eq!(
            of_action(b"Log In").map(|l| l.action),
            Some(Some(Action::Allow))
        );
        assert_eq!(
            of_action(b"logon").map(|l| l.action),
            Some(Some(Action::Allow))
        );
        assert_eq!(of_action(b"Log Out").map(|l| l.action), Some(None));
        assert_eq!(of_action(b"Drop"), None);
        assert_eq!(of_action(b"Accept"), None);
    }

    #[test]
    fn messages() {
        let (ip, login) = of_message(
            b"Authentication of SSLVPN user [u@radius] from 192.0.2.4 was rejected, Recv timeout",
        )
        .unwrap();
        assert_eq!(ip.to_string(), "192.0.2.4");
        assert_eq!(login.action, Some(Action::Fail));
        assert_eq!(login.service, Some(Service::Vpn));
        assert_eq!(
            of_message(b"DHCPACK on 10.0.2.52 to 00:01:21:30:0f:a0 via vlan2"),
            None
        );
        assert_eq!(of_message(b"HTTP request from 192.0.2.4"), None);
    }
}
