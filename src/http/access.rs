//! Access control for one endpoint group: client CIDR allowlist, then HTTP basic or bearer authentication.
//! Secrets are compared in constant time.

use crate::config::{Access, Auth};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The client address is not in the allowlist.
    NotAllowed,
    /// No credentials were sent.
    Missing,
    /// Credentials were sent and are wrong.
    Wrong,
}

impl Refusal {
    pub fn response(self, auth: &Auth) -> Response {
        match self {
            Refusal::NotAllowed => {
                (StatusCode::FORBIDDEN, "client address not allowed\n").into_response()
            }
            Refusal::Wrong => (StatusCode::FORBIDDEN, "wrong credentials\n").into_response(),
            Refusal::Missing => {
                let challenge = match auth {
                    Auth::Bearer { .. } => "Bearer realm=\"torwatch\"",
                    _ => "Basic realm=\"torwatch\", charset=\"UTF-8\"",
                };
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, challenge)],
                    "authentication required\n",
                )
                    .into_response()
            }
        }
    }
}

/// Checks a request against the group's rules.
pub fn check(access: &Access, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<(), Refusal> {
    if !access.allow.is_empty() {
        let peer = peer.map(canonical);
        if !peer.is_some_and(|p| access.allow.iter().any(|net| net.contains(&p))) {
            return Err(Refusal::NotAllowed);
        }
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match &access.auth {
        Auth::None => Ok(()),
        Auth::Bearer { token } => {
            let given = presented.ok_or(Refusal::Missing)?;
            let given = strip_scheme(given, "bearer").ok_or(Refusal::Missing)?;
            if bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())) {
                Ok(())
            } else {
                Err(Refusal::Wrong)
            }
        }
        Auth::Basic { username, password } => {
            let given = presented.ok_or(Refusal::Missing)?;
            let encoded = strip_scheme(given, "basic").ok_or(Refusal::Missing)?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| Refusal::Wrong)?;
            let expected = format!("{username}:{password}");
            if bool::from(decoded.as_slice().ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(Refusal::Wrong)
            }
        }
    }
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// IPv4-mapped IPv6 peers (dual-stack sockets) are matched as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn basic_and_bearer() {
        let basic = Access {
            auth: Auth::Basic {
                username: "fw".into(),
                password: "s3cret".into(),
            },
            allow: vec![],
        };
        assert_eq!(
            check(&basic, None, &HeaderMap::new()),
            Err(Refusal::Missing)
        );
        assert_eq!(check(&basic, None, &headers("Basic Znc6czNjcmV0")), Ok(()));
        assert_eq!(
            check(&basic, None, &headers("Basic Znc6d3Jvbmc=")),
            Err(Refusal::Wrong)
        );
        let bearer = Access {
            auth: Auth::Bearer {
                token: "t0k".into(),
            },
            allow: vec![],
        };
        assert_eq!(check(&bearer, None, &headers("Bearer t0k")), Ok(()));
        assert_eq!(
            check(&bearer, None, &headers("bearer t0kX")),
            Err(Refusal::Wrong)
        );
    }

    #[test]
    fn allowlist() {
        let a = Access {
            auth: Auth::None,
            allow: vec!["10.0.0.0/8".parse().unwrap()],
        };
        assert_eq!(
            check(&a, Some("10.1.2.3".parse().unwrap()), &HeaderMap::new()),
            Ok(())
        );
        assert_eq!(
            check(
                &a,
                Some("::ffff:10.1.2.3".parse().unwrap()),
                &HeaderMap::new()
            ),
            Ok(())
        );
        assert_eq!(
            check(&a, Some("192.0.2.1".parse().unwrap()), &HeaderMap::new()),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(check(&a, None, &HeaderMap::new()), Err(Refusal::NotAllowed));
    }
}
