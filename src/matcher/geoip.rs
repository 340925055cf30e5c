//! Country of an address from a MaxMind DB (`.mmdb`) file: MaxMind GeoLite2/GeoIP2 Country and City databases
//! (`country.iso_code`) and the ip-location-db country files (a flat `country_code`). Opening reads the file; lookups
//! are pure. The matcher asks once per list entry, never per event.

use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// Failure to open a country database.
#[derive(Debug, thiserror::Error)]
#[error("cannot open country database {path}: {source}")]
pub struct GeoipError {
    path: String,
    source: maxminddb::MaxMindDBError,
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
        let reader = maxminddb::Reader::open_readfile(path).map_err(|source| GeoipError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Geoip { reader })
    }

    /// Wraps database bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Geoip, GeoipError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|source| GeoipError {
            path: "<memory>".into(),
            source,
        })?;
        Ok(Geoip { reader })
    }

    /// ISO 3166-1 alpha-2 code in lower case, when the database knows the address.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let record: Record<'_> = self.reader.lookup(ip).ok()?;
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
            .field("database", &self.reader.metadata.database_type)
            .finish()
    }
}
