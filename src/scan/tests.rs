//! Reading and counting: chunk boundaries, long lines, byte-range splits and the table form.

use super::read::{self, in_parts, stream_sized};
use super::tally::{Scan, Tally};
use super::*;

fn nf(i: usize) -> String {
    let src = if i % 3 == 0 {
        "185.220.101.7"
    } else {
        "198.51.100.1"
    };
    format!(
        "2026-11-28T10:00:00Z fw kernel: [{i}.5] IN=eth0 OUT= SRC={src} DST=192.0.2.1 LEN=60 PROTO=TCP SPT=4000 DPT={}",
        20 + i % 40
    )
}

fn setup() -> (tempfile::TempDir, Reference) {
    let dir = tempfile::tempdir().unwrap();
    let exits = dir.path().join("exits.txt");
    std::fs::write(&exits, "185.220.101.7\n2001:db8::1\n").unwrap();
    let reference = Reference::from_file(&exits, None).unwrap();
    (dir, reference)
}

fn text(n: usize) -> String {
    let mut s: String = (0..n)
        .map(|i| nf(i) + if i % 5 == 0 { "\r\n" } else { "\n" })
        .collect();
    s.push_str("\n\nnot a log line\n");
    s.push_str(&nf(n)); // no newline at the end
    s
}

fn tally_of(data: impl std::io::Read, reference: &Reference, chunk: usize) -> Report {
    let scan = Scan {
        reference,
        format: None,
        context: Default::default(),
    };
    let mut tally = Tally::new(&scan);
    stream_sized(data, &mut tally, &scan, chunk).unwrap();
    tally.report(reference)
}

#[test]
fn chunk_boundaries_do_not_change_the_counts() {
    let (_dir, reference) = setup();
    let data = text(300);
    let whole = tally_of(data.as_bytes(), &reference, 1 << 20);
    // The two empty lines are no lines.
    assert_eq!(whole.lines, 302);
    assert_eq!(whole.parsed, 301);
    assert_eq!(whole.tor_hits, 101);
    assert_eq!(whole.by_exit["185.220.101.7"], 101);
    for chunk in [200, 257, 1000, 4096] {
        assert_eq!(
            tally_of(data.as_bytes(), &reference, chunk),
            whole,
            "chunk {chunk}"
        );
    }
}

/// Gives at most a few bytes a read, as a pipe may.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 97 + 13;
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn short_reads_do_not_change_the_counts() {
    let (_dir, reference) = setup();
    let data = format!("{}{}\n{}\n", text(300), "y".repeat(700), nf(7));
    let whole = tally_of(data.as_bytes(), &reference, 1 << 20);
    assert_eq!(whole.lines, 303);
    for chunk in [300, 1000, 4096] {
        let trickle = Trickle {
            data: data.as_bytes(),
            step: 0,
        };
        assert_eq!(tally_of(trickle, &reference, chunk), whole, "chunk {chunk}");
    }
}

#[test]
fn a_line_longer_than_the_buffer_counts_once() {
    let (_dir, reference) = setup();
    let data = format!("{}\n{}\n{}\n", nf(0), "x".repeat(5000), nf(3));
    let r = tally_of(data.as_bytes(), &reference, 300);
    assert_eq!((r.lines, r.parsed, r.tor_hits), (3, 2, 2));
}

#[test]
fn byte_range_parts_add_up_to_the_whole() {
    let (dir, reference) = setup();
    let path = dir.path().join("kern.log");
    std::fs::write(&path, text(2000)).unwrap();
    let scan = Scan {
        reference: &reference,
        format: None,
        context: Default::default(),
    };
    let whole = |parts, threads| {
        let mut total = Tally::new(&scan);
        for t in in_parts(&path, parts, threads, &scan, None, || Tally::new(&scan)).unwrap() {
            total.merge(&t);
        }
        total.report(&reference)
    };
    let one = whole(1, 1);
    assert_eq!(one.lines, 2002);
    for (parts, threads) in [(2, 2), (3, 1), (7, 2), (50, 3), (8, 16)] {
        assert_eq!(
            whole(parts, threads),
            one,
            "{parts} parts on {threads} threads"
        );
    }
}

#[test]
fn gzip_and_plain_give_the_same_report_and_the_table_shows_the_top() {
    let (dir, _) = setup();
    let plain = dir.path().join("kern.log");
    let gz = dir.path().join("kern.log.1.gz");
    std::fs::write(&plain, text(500)).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, text(500).as_bytes()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let mut opts = ScanOptions {
        files: vec![plain],
        exits: Some(dir.path().join("exits.txt")),
        ..ScanOptions::default()
    };
    let mut table = Vec::new();
    let a = run(&opts, &mut table).unwrap();
    opts.files = vec![gz];
    let b = run(&opts, std::io::sink()).unwrap();
    assert_eq!(a, b);
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("distinct exits  1"), "{table}");
    assert!(
        table.contains("(20 more)"),
        "40 ports: top 20 and the rest\n{table}"
    );
}

#[test]
fn nothing_to_match_against_is_an_error() {
    let err = run(&ScanOptions::default(), std::io::sink()).unwrap_err();
    assert!(
        err.to_string().contains("nothing to match against"),
        "{err}"
    );
    let (dir, _) = setup();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "<html>nope</html>\n").unwrap();
    let opts = ScanOptions {
        exits: Some(bad),
        ..ScanOptions::default()
    };
    let err = run(&opts, std::io::sink()).unwrap_err();
    assert!(
        err.to_string().contains("bad.txt is not an exit list"),
        "{err}"
    );
}

#[test]
fn every_part_of_a_flow_log_file_reads_with_its_header() {
    let (dir, reference) = setup();
    let path = dir.path().join("flows.log");
    let mut text = String::from("${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action}\n");
    for i in 0..3000 {
        let src = if i % 3 == 0 {
            "185.220.101.7"
        } else {
            "198.51.100.1"
        };
        text.push_str(&format!(
            "{src} 10.0.0.{} {} 6 REJECT\n",
            i % 200,
            20 + i % 40
        ));
    }
    std::fs::write(&path, &text).unwrap();
    let scan = Scan {
        reference: &reference,
        format: None,
        context: Default::default(),
    };
    let head = read::first_line(&path, false).unwrap();
    for (parts, threads) in [(1, 1), (7, 2), (50, 3)] {
        let mut total = Tally::new(&scan);
        for t in in_parts(&path, parts, threads, &scan, None, || seeded(&scan, &head)).unwrap() {
            total.merge(&t);
        }
        let r = total.report(&reference);
        assert_eq!(
            (r.lines, r.parsed, r.tor_hits),
            (3001, 3000, 1000),
            "{parts} parts on {threads} threads"
        );
        assert_eq!(r.by_action["drop"], 1000);
    }
    let opts = ScanOptions {
        files: vec![path],
        exits: Some(dir.path().join("exits.txt")),
        json: true,
        ..ScanOptions::default()
    };
    let report = run(&opts, std::io::sink()).unwrap();
    assert_eq!(report.tor_hits, 1000);
}

#[test]
fn countries_come_from_a_country_database_when_the_list_has_none() {
    use crate::matcher::geoip::fixture::{database, map, string};
    let (dir, _) = setup();
    let db = dir.path().join("countries.mmdb");
    std::fs::write(
        &db,
        database(185, map(&[("country", map(&[("iso_code", string("DE"))]))])),
    )
    .unwrap();
    let log = dir.path().join("kern.log");
    std::fs::write(&log, text(30)).unwrap();
    let mut opts = ScanOptions {
        files: vec![log],
        exits: Some(dir.path().join("exits.txt")),
        ..ScanOptions::default()
    };
    let without = run(&opts, std::io::sink()).unwrap();
    assert_eq!(
        without.by_country,
        BTreeMap::from([("unknown".to_string(), 11)])
    );
    opts.geoip = Some(db);
    let with = run(&opts, std::io::sink()).unwrap();
    assert_eq!(with.by_country, BTreeMap::from([("de".to_string(), 11)]));
    assert_eq!(
        (with.tor_hits, with.by_exit.clone()),
        (without.tor_hits, without.by_exit)
    );
}

#[test]
fn every_flow_of_a_document_is_counted() {
    let (_dir, reference) = setup();
    let blob = r#"{"records":[{"properties":{"Version":2,"flows":[{"rule":"R","flows":[{"mac":"000D3A1B2C3D","flowTuples":["1709633702,185.220.101.7,10.1.0.4,40312,22,T,I,D,B,,,,","1709633703,198.51.100.4,10.1.0.4,40313,22,T,I,D,B,,,,","1709633704,185.220.101.7,10.1.0.4,40314,443,T,I,A,B,,,,"]}]}]}}]}"#;
    let data = format!("{}\n{blob}\n", nf(0));
    let r = tally_of(data.as_bytes(), &reference, 1 << 16);
    assert_eq!((r.lines, r.parsed, r.tor_hits), (2, 4, 3));
    assert_eq!(r.by_exit["185.220.101.7"], 3);
    assert_eq!(r.by_port["443"], 1);
    assert_eq!(r.by_action["allow"], 1);
}
