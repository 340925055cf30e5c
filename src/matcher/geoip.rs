//! Country of an address from a MaxMind DB (`.mmdb`) file: MaxMind GeoLite2/GeoIP2 Country and City databases
//! (`country.iso_code`) and the ip-location-db country files (a flat `country_code`). Opening reads the file (a
//! regular file of at most 1 GiB); lookups are pure. The matcher asks once per list entry, never per event.

use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// Failure to open a country database.
#[derive(Debug, thiserror::Error)]
#[error("cannot open country database {path}: {problem}")]
pub struct GeoipError {
    path: String,
    problem: String,
}

/// An opened country database.
pub struct Geoip {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    country: Option<Country<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<Country<'a>>,
    #[serde(default)]
    country_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct Country<'a> {
    #[serde(default)]
    iso_code: Option<&'a str>,
}

impl Geoip {
    pub fn open(path: &Path) -> Result<Geoip, GeoipError> {
        let failed = |problem| GeoipError {
            path: path.display().to_string(),
            problem,
        };
        let bytes =
            crate::config::files::read(path, crate::config::files::GEOIP_MAX).map_err(failed)?;
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| failed(e.to_string()))?;
        Ok(Geoip { reader })
    }

    /// Wraps database bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Geoip, GeoipError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| GeoipError {
            path: "<memory>".into(),
            problem: e.to_string(),
        })?;
        Ok(Geoip { reader })
    }

    /// ISO 3166-1 alpha-2 code in lower case, when the database knows the address.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let record: Record<'_> = self.reader.lookup(ip).ok()?.decode().ok()??;
        let code = record
            .country_code
            .or_else(|| record.country.and_then(|c| c.iso_code))
            .or_else(|| record.registered_country.and_then(|c| c.iso_code))?;
        let code = code.trim();
        (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
            .then(|| code.to_ascii_lowercase())
    }
}

impl std::fmt::Debug for Geoip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Geoip")
            .field("database", &self.reader.metadata().database_type)
            .finish()
    }
}

/// Tiny MaxMind DB files for tests.
#[cfg(test)]
pub(crate) mod fixture {
    /// MaxMind DB encoding of the few types these tests need.
    pub fn string(s: &str) -> Vec<u8> {
        let mut v = vec![(2 << 5) | s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    pub fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut v = vec![(7 << 5) | entries.len() as u8];
        for (k, val) in entries {
            v.extend(string(k));
            v.extend_from_slice(val);
        }
        v
    }

    pub fn uint(kind: u8, n: u32) -> Vec<u8> {
        let bytes = n.to_be_bytes();
        match kind {
            5 => [vec![(5 << 5) | 2], bytes[2..].to_vec()].concat(),
            6 => [vec![(6 << 5) | 4], bytes.to_vec()].concat(),
            _ => [vec![4, 9 - 7], bytes.to_vec()].concat(), // uint64, an extended type
        }
    }

    /// An IPv4 database with one record for `first_octet`/8.
    pub fn database(first_octet: u8, record: Vec<u8>) -> Vec<u8> {
        let node_count = 8u32;
        let mut out = Vec::new();
        for i in 0..8 {
            let bit = first_octet >> (7 - i) & 1;
            let next = if i == 7 {
                node_count + 16
            } else {
                i as u32 + 1
            };
            let (left, right) = if bit == 0 {
                (next, node_count)
            } else {
                (node_count, next)
            };
            out.extend_from_slice(&left.to_be_bytes()[1..]);
            out.extend_from_slice(&right.to_be_bytes()[1..]);
        }
        out.extend_from_slice(&[0; 16]);
        out.extend(record);
        out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
        out.extend(map(&[
            ("binary_format_major_version", uint(5, 2)),
            ("binary_format_minor_version", uint(5, 0)),
            ("build_epoch", uint(9, 1_700_000_000)),
            ("database_type", string("Test-Country")),
            ("description", map(&[])),
            ("ip_version", uint(5, 4)),
            ("languages", vec![0, 11 - 7]),
            ("node_count", uint(6, node_count)),
            ("record_size", uint(5, 24)),
        ]));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{database, map, string};
    use super::*;

    #[test]
    fn maxmind_nested_iso_code() {
        let record = map(&[("country", map(&[("iso_code", string("DE"))]))]);
        let db = Geoip::from_bytes(database(185, record)).unwrap();
        assert_eq!(
            db.country("185.220.101.7".parse().unwrap()).as_deref(),
            Some("de")
        );
        assert_eq!(db.country("186.1.1.1".parse().unwrap()), None);
    }

    #[test]
    fn ip_location_db_flat_country_code() {
        let db = Geoip::from_bytes(database(9, map(&[("country_code", string("NL"))]))).unwrap();
        assert_eq!(
            db.country("9.9.9.9".parse().unwrap()).as_deref(),
            Some("nl")
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.mmdb");
        std::fs::write(&path, b"not a database").unwrap();
        let err = Geoip::open(&path).unwrap_err().to_string();
        assert!(err.contains("bad.mmdb"), "{err}");
    }

    #[test]
    fn a_device_is_refused_before_anything_is_read() {
        let err = Geoip::open(Path::new("/dev/zero")).unwrap_err().to_string();
        assert_eq!(
            err,
            "cannot open country database /dev/zero: /dev/zero is not a regular file"
        );
    }

    #[test]
    fn the_matcher_asks_the_database_only_when_the_list_has_no_country() {
        use crate::list::{List, ListEntry, Provenance};
        let db = Geoip::from_bytes(database(185, map(&[("country_code", string("NL"))]))).unwrap();
        let entry = |ip: &str, country: Option<&str>| ListEntry {
            net: ip.parse::<IpAddr>().unwrap().into(),
            prov: Provenance {
                country: country.map(str::to_string),
                ..Provenance::default()
            }
            .into(),
        };
        let list = List::new(
            crate::list::ListId::Exits.name(),
            1,
            0,
            vec![
                entry("185.220.101.7", None),
                entry("185.220.101.8", Some("de")),
            ],
        );
        let snap = crate::snapshot::Snapshot {
            lists: [(
                crate::list::ListId::Exits.name().to_string(),
                std::sync::Arc::new(list),
            )]
            .into(),
            ..Default::default()
        };
        let m = crate::matcher::Matcher::with_geoip(&snap, Some(&db));
        let country = |ip: &str| {
            let ev = crate::event::Event {
                src_ip: Some(ip.parse().unwrap()),
                ..Default::default()
            };
            m.classify(&ev).map(|h| h.labels.country.to_string())
        };
        assert_eq!(country("185.220.101.7").as_deref(), Some("nl"));
        assert_eq!(country("185.220.101.8").as_deref(), Some("de"));
    }
}
