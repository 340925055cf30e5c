//! Golden files for every output format: one fixed list (tests/golden/formats/fixture.json) rendered in every
//! format with the options that matter, compared byte for byte. `UPDATE_GOLDEN=1 cargo test --test it
//! formats_golden::` rewrites the files; review the diff before committing it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use torwatch::formats::{render, ListFormat, RenderOptions};
use torwatch::list::{Family, List};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/formats")
}

fn fixture() -> List {
    let raw = fs::read(dir().join("fixture.json")).expect("read fixture.json");
    let list: List = serde_json::from_slice(&raw).expect("parse fixture.json");
    // List::new sorts, truncates and de-duplicates, as the keeper does.
    List::new(list.name, list.version, list.updated, list.entries)
}

/// (file-name infix, options) for every combination a golden file exists for.
fn variants(format: ListFormat) -> Vec<(&'static str, RenderOptions)> {
    let plain = RenderOptions::default();
    let mut v = vec![
        ("", plain),
        (
            ".ipv4",
            RenderOptions {
                family: Some(Family::Ipv4),
                ..plain
            },
        ),
        (
            ".ipv6",
            RenderOptions {
                family: Some(Family::Ipv6),
                ..plain
            },
        ),
        (
            ".aggregate",
            RenderOptions {
                aggregate: true,
                ..plain
            },
        ),
    ];
    if format == ListFormat::Csv {
        v.push((
            ".enrich",
            RenderOptions {
                enrich: true,
                ..plain
            },
        ));
        v.push((
            ".enrich.aggregate",
            RenderOptions {
                enrich: true,
                aggregate: true,
                family: None,
            },
        ));
    }
    v
}

#[test]
fn every_format_matches_its_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let list = fixture();
    let empty = List::new("tor-relays", 1, 1_795_000_000, Vec::new());
    let mut expected = BTreeSet::from(["fixture.json".to_owned()]);
    let mut failures = Vec::new();
    for format in ListFormat::ALL {
        let mut cases: Vec<(String, Vec<u8>)> = variants(format)
            .into_iter()
            .map(|(infix, opts)| {
                (
                    format!("{}{infix}.{}", list.name, format.ext()),
                    render(format, &list, &opts),
                )
            })
            .collect();
        let empty_opts = RenderOptions::default();
        cases.push((
            format!("empty.{}", format.ext()),
            render(format, &empty, &empty_opts),
        ));
        for (name, got) in cases {
            assert!(
                got.is_empty() || got.ends_with(b"\n"),
                "{name}: output must end with a newline"
            );
            let path = dir().join(&name);
            expected.insert(name.clone());
            if update {
                fs::write(&path, &got).expect("write golden file");
                continue;
            }
            match fs::read(&path) {
                Ok(want) if want == got => {}
                Ok(_) => failures.push(format!(
                    "{name}: differs (rerun with UPDATE_GOLDEN=1 to see the diff)"
                )),
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
    }
    let present: BTreeSet<String> = fs::read_dir(dir())
        .expect("list golden dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for stale in present.difference(&expected) {
        failures.push(format!("{stale}: golden file no test renders"));
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_fixture_covers_what_the_goldens_claim() {
    let list = fixture();
    assert_eq!(list.entries.len(), 8);
    // The uncompressed IPv6 literal is rendered compressed.
    let txt = String::from_utf8(render(ListFormat::Txt, &list, &RenderOptions::default()))
        .expect("utf-8");
    assert!(txt.contains("\n2001:db8::1\n"), "{txt}");
    // 185.220.101.2 and .3 aggregate to a /31; the /24 swallows its own host.
    let agg = RenderOptions {
        aggregate: true,
        ..RenderOptions::default()
    };
    let txt = String::from_utf8(render(ListFormat::Txt, &list, &agg)).expect("utf-8");
    assert!(
        txt.contains("185.220.101.2/31\n") && !txt.contains("198.51.100.77"),
        "{txt}"
    );
}
