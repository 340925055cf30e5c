//! Metrics exposition: OpenMetrics when the scraper asks for it, otherwise the classic Prometheus text format
//! (0.0.4), whose counter HELP/TYPE lines name the `_total` series.

use prometheus_client::registry::Registry;

pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn encode(
    registry: &Registry,
    openmetrics: bool,
) -> Result<(&'static str, String), std::fmt::Error> {
    let mut out = String::with_capacity(16 * 1024);
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    if openmetrics {
        return Ok((OPENMETRICS, out));
    }
    Ok((TEXT, to_classic(&out)))
}

/// Rewrites OpenMetrics text into the classic format: counters' metadata names the `_total` series, no `# EOF`,
/// no `# UNIT`.
pub fn to_classic(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = line
            .strip_prefix("# HELP ")
            .map(|r| ("# HELP ", r))
            .or_else(|| line.strip_prefix("# TYPE ").map(|r| ("# TYPE ", r)));
        if let Some((kind, rest)) = meta {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if counters.contains(name) {
                out.push_str(kind);
                out.push_str(name);
                out.push_str("_total ");
                out.push_str(tail);
                out.push('\n');
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counters_get_total_metadata() {
        let om = "# HELP a_x Things.\n# TYPE a_x counter\na_x_total 3\n# HELP g G.\n# TYPE g gauge\ng 1\n# EOF\n";
        let classic = super::to_classic(om);
        assert_eq!(classic, "# HELP a_x_total Things.\n# TYPE a_x_total counter\na_x_total 3\n# HELP g G.\n# TYPE g gauge\ng 1\n");
    }
}
