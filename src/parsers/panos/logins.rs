//! PAN-OS records about logins and administration that name a remote address, as `auth` events: GLOBALPROTECT
//! (the client's public address, `success` / `failure`), AUTH (the authenticating user's address and the
//! authentication event), SYSTEM (the address an `auth`, GlobalProtect or administrator login message names in
//! its description: `From: A`, `Login from: A`, `logged in via Web from A`) and CONFIG (the administrator's
//! address). Field positions are those of the PAN-OS syslog formats (leading FUTURE_USE column counted). No IO, no
//! allocation.

use memchr::memmem;

use super::super::csv_fields::CsvFields;
use super::super::login::{outcome, Login};
use super::super::{civil, ParseError};
use crate::address::parse_ip;
use crate::event::{Action, Direction, Event, Service};
use std::net::IpAddr;

/// The record types this module reads.
pub fn is_login_type(kind: &[u8]) -> bool {
    matches!(
        kind,
        b"GLOBALPROTECT" | b"AUTH" | b"AUTHENTICATION" | b"SYSTEM" | b"CONFIG"
    )
}

/// Columns of the record types, 0-based with the leading FUTURE_USE column.
const GENERATED: usize = 6;
const GP_EVENT: usize = 8;
const GP_PUBLIC_IP: usize = 15;
const GP_PUBLIC_IPV6: usize = 16;
const GP_STATUS: usize = 28;
const AUTH_SOURCE: usize = 8;
const AUTH_EVENT: usize = 20;
const SYSTEM_EVENT: usize = 8;
const SYSTEM_SUBTYPE: usize = 4;
const SYSTEM_DESCRIPTION: usize = 14;
const CONFIG_HOST: usize = 7;

/// Parses a record of one of [`is_login_type`]'s types (`kind`).
pub fn parse<'a>(rec: &[u8], kind: &[u8]) -> Result<Event<'a>, ParseError> {
    let mut cols: [&[u8]; 29] = [&[]; 29];
    for (i, field) in CsvFields::new(rec).enumerate().take(cols.len()) {
        if let Some(c) = cols.get_mut(i) {
            *c = field;
        }
    }
    let col = |i: usize| cols.get(i).copied().unwrap_or_default();
    let login = match kind {
        b"GLOBALPROTECT" => globalprotect(
            col(GP_EVENT),
            [col(GP_PUBLIC_IP), col(GP_PUBLIC_IPV6)],
            col(GP_STATUS),
        ),
        b"AUTH" | b"AUTHENTICATION" => auth(col(AUTH_SOURCE), col(AUTH_EVENT)),
        b"SYSTEM" => system(
            col(SYSTEM_SUBTYPE),
            col(SYSTEM_EVENT),
            col(SYSTEM_DESCRIPTION),
        ),
        _ => config(col(CONFIG_HOST)),
    }?;
    Ok(login.into_event(civil::date_time(col(GENERATED))))
}

/// What a record says about a login: the client's address and the [`Login`].
#[derive(Debug, Clone, Copy)]
pub struct LoginFrom {
    pub src: IpAddr,
    pub login: Login,
}

impl LoginFrom {
    pub fn into_event<'a>(self, time: Option<i64>) -> Event<'a> {
        let mut event = Event {
            time,
            src_ip: Some(self.src),
            direction: Some(Direction::Inbound),
            ..Event::default()
        };
        self.login.apply(&mut event);
        event
    }
}

/// A GlobalProtect portal or gateway event: the client's public address (IPv4, else IPv6). Only the
/// authentication stages say whether a login succeeded; the others (connected, logout, config) carry no outcome.
pub fn globalprotect(
    event: &[u8],
    public: [&[u8]; 2],
    status: &[u8],
) -> Result<LoginFrom, ParseError> {
    let src = public
        .iter()
        .find_map(|ip| parse_ip(ip))
        .ok_or(ParseError::NotTraffic)?;
    let authenticates =
        memmem::find(event, b"auth").is_some() || memmem::find(event, b"login").is_some();
    Ok(LoginFrom {
        src,
        login: Login {
            action: if authenticates { outcome(status) } else { None },
            service: Some(Service::Vpn),
        },
    })
}

/// An AUTH record: the authenticating user's address and the authentication event.
pub fn auth(source: &[u8], event: &[u8]) -> Result<LoginFrom, ParseError> {
    Ok(LoginFrom {
        src: parse_ip(source).ok_or(ParseError::NotTraffic)?,
        login: Login {
            action: outcome(event),
            service: None,
        },
    })
}

/// A SYSTEM record: the address its description names, when it names one.
pub fn system(subtype: &[u8], event: &[u8], description: &[u8]) -> Result<LoginFrom, ParseError> {
    let src = described_address(description).ok_or(ParseError::NotTraffic)?;
    let said = |w: &[u8]| memmem::find(description, w).is_some();
    let action = outcome(event).or_else(|| {
        if said(b"logged in") || said(b"succeeded") {
            Some(Action::Allow)
        } else if said(b"failed") || said(b"Failed") {
            Some(Action::Fail)
        } else {
            None
        }
    });
    let service = if memmem::find(event, b"globalprotect").is_some()
        || subtype.starts_with(b"globalprotect")
        || said(b"GlobalProtect")
    {
        Some(Service::Vpn)
    } else if said(b" via Web ")
        || said(b" via CLI ")
        || said(b" via API ")
        || said(b" via XML API")
    {
        Some(Service::Admin)
    } else {
        None
    };
    Ok(LoginFrom {
        src,
        login: Login { action, service },
    })
}

/// A CONFIG record: the administrator's address (the host column; `Panorama` or a name is no address).
pub fn config(host: &[u8]) -> Result<LoginFrom, ParseError> {
    Ok(LoginFrom {
        src: parse_ip(host).ok_or(ParseError::NotTraffic)?,
        login: Login {
            action: None,
            service: Some(Service::Admin),
        },
    })
}

/// The remote address a SYSTEM description names: after `From: `, `Login from: `, `Client IP: ` or `from `
/// (`logged in via Web from A using https`).
pub fn described_address(description: &[u8]) -> Option<IpAddr> {
    const LABELS: [&[u8]; 5] = [
        b"Login from: ",
        b"From: ",
        b"from: ",
        b"Client IP: ",
        b" from ",
    ];
    LABELS.iter().find_map(|label| {
        memmem::find_iter(description, label).find_map(|at| {
            let value = description.get(at + label.len()..)?.trim_ascii_start();
            let end = value
                .iter()
                .position(|&c| matches!(c, b' ' | b',' | b';' | b'\'' | b'"' | b')'))
                .unwrap_or(value.len());
            let word = value.get(..end)?;
            parse_ip(word).or_else(|| parse_ip(word.strip_suffix(b".")?))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_descriptions() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let cases = [
            ("authenticated for user 'u'. auth profile 'GP', From: 192.0.2.4.", ip("192.0.2.4")),
            ("GlobalProtect portal user authentication failed. Login from: 2001:db8::4, Source region: US", ip("2001:db8::4")),
            ("User admin logged in via Web from 192.0.2.5 using https", ip("192.0.2.5")),
            ("Commit job succeeded from the web interface", None),
            ("Kerberos SSO authenticated for user 'jdoe'. realm 'test.local'", None),
        ];
        for (text, want) in cases {
            assert_eq!(described_address(text.as_bytes()), want, "{text}");
        }
    }
}
