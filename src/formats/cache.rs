//! Renderings of one list version, computed at most once each and kept with the snapshot: the body, its gzip form
//! and validators. A request or a file write never renders twice for the same list version and options.

use crate::formats::{self, ListFormat, RenderOptions};
use crate::list::{Family, List};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::{Arc, OnceLock};

const FAMILIES: usize = 3;
const SLOTS: usize = ListFormat::ALL.len() * FAMILIES * 2 * 2;

/// Bodies above this size are gzipped at the fast level: a million-entry list takes ~0.3 s instead of ~3 s.
const FAST_GZIP_ABOVE: usize = 1 << 20;

/// One rendering, ready to serve.
#[derive(Debug)]
pub struct Rendered {
    pub body: Bytes,
    /// The gzip form, made on the first request that accepts it (most fetches of a big list do not).
    gzip: OnceLock<Bytes>,
    /// Strong validator of `body`, quoted (`"…"`); the gzip representation's is `"…-gz"`.
    pub etag: String,
    pub etag_gzip: String,
}

/// All renderings of one list version.
#[derive(Debug)]
pub struct Renders {
    pub list: Arc<List>,
    slots: Vec<OnceLock<Rendered>>,
}

impl Renders {
    pub fn new(list: Arc<List>) -> Renders {
        Renders {
            list,
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The rendering for `format` and `opts`, computed on first use.
    pub fn get(&self, format: ListFormat, opts: &RenderOptions) -> &Rendered {
        let opts = RenderOptions {
            enrich: opts.enrich && format == ListFormat::Csv,
            ..*opts
        };
        let f = ListFormat::ALL
            .iter()
            .position(|x| *x == format)
            .unwrap_or(0);
        let fam = match opts.family {
            None => 0,
            Some(Family::Ipv4) => 1,
            Some(Family::Ipv6) => 2,
        };
        let index =
            ((f * FAMILIES + fam) * 2 + usize::from(opts.aggregate)) * 2 + usize::from(opts.enrich);
        self.slots[index].get_or_init(|| render(&self.list, format, &opts))
    }
}

impl Rendered {
    /// The gzip form of the body, computed once.
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let level = if self.body.len() > FAST_GZIP_ABOVE {
                flate2::Compression::fast()
            } else {
                flate2::Compression::best()
            };
            let mut gz =
                flate2::write::GzEncoder::new(Vec::with_capacity(self.body.len() / 3), level);
            // Writing into a Vec cannot fail.
            let gzip = gz
                .write_all(&self.body)
                .and_then(|_| gz.finish())
                .unwrap_or_default();
            Bytes::from(gzip)
        })
    }
}

fn render(list: &List, format: ListFormat, opts: &RenderOptions) -> Rendered {
    let body = formats::render(format, list, opts);
    let digest = Sha256::digest(&body);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Rendered {
        body: Bytes::from(body),
        gzip: OnceLock::new(),
        etag: format!("\"{hex}\""),
        etag_gzip: format!("\"{hex}-gz\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::ListEntry;

    #[test]
    fn renders_once_and_keys_options_apart() {
        let entries = vec![ListEntry {
            net: "192.0.2.1/32".parse().unwrap(),
            prov: Default::default(),
        }];
        let r = Renders::new(Arc::new(List::new("tor-exits", 1, 0, entries)));
        let a = r.get(ListFormat::Txt, &RenderOptions::default()) as *const Rendered;
        let b = r.get(ListFormat::Txt, &RenderOptions::default()) as *const Rendered;
        assert_eq!(a, b, "second call is served from the cache");
        let v6 = r.get(
            ListFormat::Txt,
            &RenderOptions {
                family: Some(Family::Ipv6),
                ..Default::default()
            },
        );
        assert_eq!(&v6.body[..], b"");
        let txt = r.get(ListFormat::Txt, &RenderOptions::default());
        assert_eq!(&txt.body[..], b"192.0.2.1\n");
        let mut d = flate2::read::GzDecoder::new(&txt.gzip()[..]);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut d, &mut s).unwrap();
        assert_eq!(s, "192.0.2.1\n");
    }
}
