//! Configuration: the YAML file parsed into raw serde structs (`raw`), then typed and validated once into
//! [`Config`]. Every problem is reported with its key path (`sources[1].interval: "5x" is not a duration`); all
//! problems of a file are reported together. Nothing downstream re-validates a string.

pub mod files;
mod nesting;
pub mod raw;
pub mod scalar;
mod sections;

pub use sections::*;

use ipnet::IpNet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Key path, e.g. `sources[1].interval`; empty for the file as a whole.
    pub path: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

/// Every problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// Problems printed (or logged) of one file at most; the count of the rest follows them.
pub const SHOWN_ERRORS: usize = 50;

/// Deepest nesting of flow collections a config may have.
pub const MAX_FLOW_DEPTH: usize = 64;

impl fmt::Display for ConfigErrors {
    /// One problem a line, at most [`SHOWN_ERRORS`] of them (a file of 200,000 aliases to one bad entry has as
    /// many problems), then how many more there are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().take(SHOWN_ERRORS).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if let Some(more) = self.0.len().checked_sub(SHOWN_ERRORS).filter(|n| *n > 0) {
            write!(f, "\n… and {more} more problem(s)")?;
        }
        Ok(())
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub state_dir: PathBuf,
    pub retention: Duration,
    pub history: Duration,
    /// A list no source has confirmed for this long is stale (`/readyz`, the status page, the alert rule).
    pub stale_after: Duration,
    pub exclude: Vec<IpNet>,
    /// The state is saved at most this often (and only when something changed).
    pub state_save_interval: Duration,
    pub user_agent: Option<String>,
    pub sources: Vec<SourceConfig>,
    pub inputs: Vec<InputConfig>,
    pub publish: Vec<crate::publish::file::PublishFile>,
    pub http: HttpConfig,
    pub matcher: MatcherConfig,
    pub netfilter_actions: Vec<(String, crate::event::Action)>,
    /// Valid settings that would quietly lose everything; `check-config` prints them, `run` logs them.
    pub warnings: Vec<ConfigError>,
}

impl Config {
    /// Reads and validates a config file. Relative paths inside it are taken relative to the current directory.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = files::read_text(path, files::CONFIG_MAX).map_err(|problem| {
            ConfigErrors(vec![ConfigError {
                path: String::new(),
                problem,
            }])
        })?;
        Config::parse(&text)
    }

    /// Parses and validates config text.
    pub fn parse(text: &str) -> Result<Config, ConfigErrors> {
        if nesting::flow_depth(text, MAX_FLOW_DEPTH) > MAX_FLOW_DEPTH {
            return Err(ConfigErrors(vec![ConfigError {
                path: String::new(),
                problem: format!(
                    "brackets ([ ] or {{ }}) nest deeper than {MAX_FLOW_DEPTH} levels"
                ),
            }]));
        }
        let raw: raw::RawConfig = if text.trim().is_empty() {
            raw::RawConfig::default()
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| ConfigErrors(vec![yaml_error(&e)]))?
        };
        let mut check = Check::default();
        let mut config = sections::build(raw, &mut check);
        if check.errors.is_empty() {
            config.warnings = check.warnings;
            Ok(config)
        } else {
            Err(ConfigErrors(check.errors))
        }
    }
}

/// Turns a YAML/serde error into a path-first message: `sources[0]: unknown field "intervl", expected one of …`.
fn yaml_error(e: &serde_yaml_ng::Error) -> ConfigError {
    let text = e.to_string();
    // serde_yaml_ng renders "path: message at line L column C"; keep the path in front, the rest as the problem.
    if let Some((path, problem)) = text.split_once(": ") {
        if !path.contains(' ') && !path.is_empty() {
            return ConfigError {
                path: path.to_string(),
                problem: problem.replace('`', "\""),
            };
        }
    }
    ConfigError {
        path: String::new(),
        problem: text.replace('`', "\""),
    }
}

/// Collects problems while typing the raw config.
#[derive(Default)]
pub struct Check {
    pub errors: Vec<ConfigError>,
    /// Settings that are valid but would quietly lose everything (every line, every address).
    pub warnings: Vec<ConfigError>,
}

impl Check {
    pub fn error(&mut self, path: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.into(),
            problem: problem.into(),
        });
    }

    pub fn warn(&mut self, path: impl Into<String>, problem: impl Into<String>) {
        self.warnings.push(ConfigError {
            path: path.into(),
            problem: problem.into(),
        });
    }

    /// Records a problem when a count, size or time that must be positive is zero.
    pub fn positive<T: PartialEq + Default>(&mut self, path: impl Into<String>, value: &T) {
        if *value == T::default() {
            self.error(path, "must be more than 0");
        }
    }

    /// Applies a scalar parser to an optional value, recording a problem and returning `default` on error.
    pub fn parse<T>(
        &mut self,
        path: impl Into<String>,
        value: Option<&str>,
        default: T,
        parser: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        match value {
            None => default,
            Some(v) => match parser(v) {
                Ok(t) => t,
                Err(problem) => {
                    self.error(path, problem);
                    default
                }
            },
        }
    }
}
