//! The config file as written: serde structs that mirror the YAML, with unknown keys rejected. Scalars that need
//! parsing (durations, sizes, addresses) stay strings here; `config::Config::from_raw` types them once, naming the
//! key path of every problem.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub listen: Option<String>,
    pub state_dir: Option<String>,
    pub retention: Option<String>,
    pub history: Option<String>,
    pub stale_after: Option<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub user_agent: Option<String>,
    pub state_save_interval: Option<String>,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub inputs: Vec<RawInput>,
    #[serde(default)]
    pub publish: Vec<RawPublish>,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub matcher: RawMatcher,
    /// netfilter log prefix (case-insensitive substring) → action.
    #[serde(default)]
    pub netfilter_actions: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub max_body: Option<RawSize>,
    pub min_entries: Option<u64>,
    pub max_shrink: Option<f64>,
    pub enabled: Option<bool>,
    pub list: Option<String>,
    pub min_prefix: Option<RawPrefixes>,
    pub max_cover: Option<RawPrefixes>,
    pub max_retry_wait: Option<String>,
    /// A bearer token sent with every request (e.g. to a leader whose lists need one).
    pub token: Option<String>,
    pub token_file: Option<String>,
}

/// A prefix length per family: `{ ipv4: 24, ipv6: 48 }` (a length may be written `/24`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrefixes {
    pub ipv4: Option<RawPrefix>,
    pub ipv6: Option<RawPrefix>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPrefix {
    Number(u64),
    Text(String),
}

/// A size: a number of bytes, or a string such as `16MiB`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawSize {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub format: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    pub start_at: Option<String>,
    pub poll: Option<String>,
    pub max_files: Option<u64>,
    pub listen: Option<String>,
    pub max_message: Option<RawSize>,
    pub max_connections: Option<u64>,
    pub idle_timeout: Option<String>,
    pub recv_buffer: Option<RawSize>,
    pub queue: Option<u64>,
    pub fields: Option<RawFields>,
}

/// VPC Flow Logs field names: a list, or the flow log's format string (`${version} ${srcaddr} …`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawFields {
    List(Vec<String>),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublish {
    pub path: Option<String>,
    pub format: Option<String>,
    pub list: Option<String>,
    pub family: Option<String>,
    #[serde(default)]
    pub aggregate: bool,
    #[serde(default)]
    pub enrich: bool,
    pub apply: Option<Vec<String>>,
    pub apply_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub lists: Option<RawAccess>,
    pub metrics: Option<RawAccess>,
    pub status: Option<RawAccess>,
    pub admin: Option<RawAdmin>,
    pub tls: Option<RawTls>,
    pub request_timeout: Option<String>,
    pub header_timeout: Option<String>,
    pub max_connections: Option<u64>,
    pub max_header_bytes: Option<RawSize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccess {
    pub auth: Option<RawAuth>,
    #[serde(default)]
    pub allow: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    #[serde(default)]
    pub reload: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub client_ca: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatcher {
    pub ports: Option<Vec<u64>>,
    pub top_ports: Option<u64>,
    pub exit_series_cap: Option<u64>,
    pub exit_series_idle: Option<String>,
    pub geoip: Option<String>,
    pub queue: Option<u64>,
}
