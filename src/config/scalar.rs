//! Typed scalars of the config file: durations, sizes, socket addresses, networks. Each parser returns the
//! problem as text; the caller adds the key path.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `30s`, `5m`, `1h`, `7d`, `1h30m`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 5m, 1h, 7d)"))?;
    Ok(d)
}

/// Bytes as a number or with a unit: `512`, `64KiB`, `16MiB`, `1GiB` (also KB/MB/GB as powers of 1000).
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 65536, 64KiB, 16MiB)"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(format!("{text:?} is not a size (e.g. 65536, 64KiB, 16MiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// `127.0.0.1:9797`, `[::]:5514`, `0.0.0.0:5514`.
pub fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an address:port (e.g. 127.0.0.1:9797, [::]:5514)"))
}

/// A network `10.0.0.0/8` or a single address `192.0.2.1` (a /32 or /128). Host bits are cleared.
pub fn network(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is not an IP address or CIDR"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(duration("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(duration("5x")
            .unwrap_err()
            .contains("\"5x\" is not a duration"));
    }

    #[test]
    fn sizes() {
        assert_eq!(size("512").unwrap(), 512);
        assert_eq!(size("64KiB").unwrap(), 65536);
        assert_eq!(size("16MiB").unwrap(), 16 << 20);
        assert!(size("12 parsecs").is_err());
        assert!(size("99999999999999GiB").is_err());
    }

    #[test]
    fn networks() {
        assert_eq!(network("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(
            network("2001:0db8:0000::1").unwrap().to_string(),
            "2001:db8::1/128"
        );
        assert!(network("10.0.0.0/33").is_err());
    }
}
