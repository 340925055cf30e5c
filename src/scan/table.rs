//! The readable form of a scan report: totals, then the top 20 of each breakdown. Writes to any `Write`.

use super::Report;
use std::collections::BTreeMap;
use std::io::{self, Write};

const TOP: usize = 20;

pub fn write(r: &Report, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "lines           {}", r.lines)?;
    writeln!(out, "parsed          {}", r.parsed)?;
    writeln!(out, "tor hits        {}", r.tor_hits)?;
    writeln!(out, "distinct exits  {}", r.distinct_exits)?;
    section(out, "exit", &r.by_exit)?;
    section(out, "country", &r.by_country)?;
    section(out, "port", &r.by_port)?;
    section(out, "protocol", &r.by_proto)?;
    section(out, "action", &r.by_action)?;
    section(out, "http status", &r.http_status)
}

fn section(out: &mut impl Write, title: &str, counts: &BTreeMap<String, u64>) -> io::Result<()> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    writeln!(out)?;
    writeln!(out, "{title:<40} {:>12}", "hits")?;
    for (key, n) in rows.iter().take(TOP) {
        writeln!(out, "{key:<40} {n:>12}")?;
    }
    if rows.len() > TOP {
        let rest: u64 = rows.iter().skip(TOP).map(|(_, n)| **n).sum();
        writeln!(
            out,
            "{:<40} {rest:>12}",
            format!("({} more)", rows.len() - TOP)
        )?;
    }
    Ok(())
}
