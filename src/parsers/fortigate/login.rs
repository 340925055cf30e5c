//! FortiGate and FortiAuthenticator event logs about logins and remote access, told by their `subtype`, `action`
//! and `status`: administrator logins (`action="login"`, `status="success"|"failed"`) and sessions (an `ui` that
//! names the administrator's address), SSL VPN (`ssl-login-fail`, `tunnel-up`, …) and IPsec (`negotiate`,
//! `tunnel-up`, …), user authentication (`subtype="user"`, FortiAuthenticator's `subtype="Authentication"`). No IO,
//! no allocation.

use crate::address::parse_ip;
use crate::event::{Action, Service};
use crate::parsers::login::{outcome, Login};

fn is(value: Option<&[u8]>, word: &[u8]) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case(word))
}

/// The login an event log line describes, or `None` for an event about something else. `has_ui`: the line names
/// an administrator's interface.
pub fn read(
    subtype: Option<&[u8]>,
    action: Option<&[u8]>,
    status: Option<&[u8]>,
    has_ui: bool,
) -> Option<Login> {
    if is(action, b"login") || is(action, b"logout") {
        let result = if is(action, b"login") {
            status.and_then(outcome)
        } else {
            None
        };
        let service = if is(subtype, b"vpn") {
            Service::Vpn
        } else {
            Service::Admin
        };
        return Some(Login {
            action: result,
            service: Some(service),
        });
    }
    if is(subtype, b"vpn") {
        let result = match action {
            Some(a) if a.eq_ignore_ascii_case(b"ssl-login-fail") => Some(Action::Fail),
            Some(a) if a.eq_ignore_ascii_case(b"tunnel-up") => Some(Action::Allow),
            // A phase 1 or 2 negotiation: its failures are failed attempts; its successes lead to a tunnel-up.
            Some(a) if a.eq_ignore_ascii_case(b"negotiate") => {
                status.and_then(outcome).filter(|r| *r == Action::Fail)
            }
            _ => None,
        };
        return Some(Login {
            action: result,
            service: Some(Service::Vpn),
        });
    }
    if is(subtype, b"user") || is(subtype, b"authentication") {
        return Some(Login {
            action: status.and_then(outcome),
            service: None,
        });
    }
    // An administrator's action (a configuration change, a command) from an address.
    has_ui.then_some(Login {
        action: None,
        service: Some(Service::Admin),
    })
}

/// The address in an administrator's interface field: `GUI(192.0.2.1)`, `ssh(2001:db8::1)`, `https(…)`.
pub fn ui_address(ui: &[u8]) -> Option<&[u8]> {
    let open = memchr::memchr(b'(', ui)?;
    let inner = ui.get(open + 1..)?.strip_suffix(b")")?;
    parse_ip(inner).map(|_| inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_addresses() {
        assert_eq!(ui_address(b"GUI(192.0.2.1)"), Some(&b"192.0.2.1"[..]));
        assert_eq!(ui_address(b"ssh(2001:db8::1)"), Some(&b"2001:db8::1"[..]));
        assert_eq!(ui_address(b"jsconsole"), None);
        assert_eq!(ui_address(b"GUI(host.example)"), None);
    }
}
