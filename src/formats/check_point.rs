//! `checkpoint`: a Check Point Generic Data Center feed (sk167210, R81 and later): a JSON document with one
//! object whose `ranges` hold the list's addresses and CIDRs (IPv4 and IPv6). The gateway polls the URL and
//! updates the object without a policy install; the object's `id` is a UUID derived from the list name so it
//! stays the same across versions. Pure rendering, no IO.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{is_host, rfc3339, selection, RenderOptions};
use crate::list::List;

#[derive(Serialize)]
struct DataCenterFeed<'a> {
    version: &'static str,
    description: String,
    objects: [Object<'a>; 1],
}

#[derive(Serialize)]
struct Object<'a> {
    name: &'a str,
    id: String,
    description: String,
    ranges: Vec<String>,
}

pub(super) fn render(list: &List, opts: &RenderOptions) -> String {
    let ranges: Vec<String> = selection::nets(list, opts)
        .iter()
        .map(|net| {
            if is_host(net) {
                net.addr().to_string()
            } else {
                net.to_string()
            }
        })
        .collect();
    let feed = DataCenterFeed {
        version: "1.0",
        description: format!(
            "torwatch {} version {}, {} entries, generated {}",
            list.name,
            list.version,
            ranges.len(),
            rfc3339(list.updated)
        ),
        objects: [Object {
            name: &list.name,
            id: stable_uuid(&list.name),
            description: format!("torwatch list {}", list.name),
            ranges,
        }],
    };
    // Serializing plain strings cannot fail.
    let mut out = serde_json::to_string(&feed).unwrap_or_default();
    out.push('\n');
    out
}

/// A name-based UUID (RFC 9562 version 8, from SHA-256), the same for the same list name.
fn stable_uuid(name: &str) -> String {
    let digest = Sha256::digest(format!("torwatch list {name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_stable_and_well_formed() {
        let a = stable_uuid("tor-exits");
        assert_eq!(a, stable_uuid("tor-exits"));
        assert_ne!(a, stable_uuid("tor-relays"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'8');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }
}
