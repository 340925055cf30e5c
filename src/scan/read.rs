//! Reading log files for `scan`: plain or gzip (told apart by the magic bytes), standard input for `-`, in large
//! chunks cut at line ends. A large plain file is split at line boundaries into byte ranges that threads take in
//! turn. This is the IO edge of the scan; the counting is in `tally`.

use super::tally::{Scan, Tally};
use indicatif::ProgressBar;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes read per call.
const CHUNK: usize = 256 << 10;
/// A file is split for parallel scanning only when each part gets at least this much.
const MIN_PART: u64 = 16 << 20;

/// Counts bytes read on a progress bar.
struct Counted<'p, R> {
    inner: R,
    progress: Option<&'p ProgressBar>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = self.progress {
            p.inc(n as u64);
        }
        Ok(n)
    }
}

/// Feeds every line of `reader` to `tally`. A line longer than the buffer counts once, cut at the buffer's end.
pub fn stream(reader: impl Read, tally: &mut Tally, scan: &Scan<'_>) -> io::Result<()> {
    stream_sized(reader, tally, scan, CHUNK)
}

/// [`stream`] with a buffer of `chunk` bytes.
pub fn stream_sized(
    reader: impl Read,
    tally: &mut Tally,
    scan: &Scan<'_>,
    chunk: usize,
) -> io::Result<()> {
    let mut reader = reader;
    let mut buf = vec![0u8; chunk.max(1)];
    let mut filled = 0usize;
    let mut skipping = false;
    loop {
        let n = read_retry(&mut reader, buf.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            if !skipping {
                tally.lines(buf.get(..filled).unwrap_or_default(), scan);
            }
            return Ok(());
        }
        filled += n;
        let mut from = 0;
        if skipping {
            match memchr::memchr(b'\n', buf.get(..filled).unwrap_or_default()) {
                Some(nl) => {
                    skipping = false;
                    from = nl + 1;
                }
                None => {
                    filled = 0;
                    continue;
                }
            }
        }
        let window = buf.get(from..filled).unwrap_or_default();
        match memchr::memrchr(b'\n', window) {
            Some(nl) => {
                tally.lines(window.get(..nl + 1).unwrap_or_default(), scan);
                from += nl + 1;
            }
            None if filled == buf.len() && from == 0 => {
                tally.lines(window, scan);
                skipping = true;
                from = filled;
            }
            None => {}
        }
        buf.copy_within(from..filled, 0);
        filled -= from;
    }
}

fn read_retry(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// True when the file starts with the gzip magic bytes.
pub fn is_gzip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut f = File::open(path)?;
    let n = read_retry(&mut f, &mut magic)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

/// Scans a gzip file (all members, as logrotate and `cat a.gz b.gz` produce) on the calling thread.
pub fn gzip(
    path: &Path,
    tally: &mut Tally,
    scan: &Scan<'_>,
    progress: Option<&ProgressBar>,
) -> io::Result<()> {
    let inner = File::open(path)?;
    let counted = Counted { inner, progress };
    stream(
        flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(1 << 20, counted)),
        tally,
        scan,
    )
}

/// Scans standard input.
pub fn stdin(tally: &mut Tally, scan: &Scan<'_>) -> io::Result<()> {
    let mut head = io::BufReader::with_capacity(1 << 20, io::stdin().lock());
    let start = io::BufRead::fill_buf(&mut head)?;
    let gz = start.starts_with(&[0x1f, 0x8b]);
    if !gz {
        tally.learn(start.split(|&c| c == b'\n').next().unwrap_or_default());
    }
    if gz {
        stream(flate2::read::MultiGzDecoder::new(head), tally, scan)
    } else {
        stream(head, tally, scan)
    }
}

/// The first line of a file (plain or gzip), at most `FIRST_LINE` bytes of it: what every part of the file is read
/// with when it is a flow-log header.
pub fn first_line(path: &Path, gzip: bool) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut reader: Box<dyn Read> = match gzip {
        true => Box::new(flate2::read::MultiGzDecoder::new(file)),
        false => Box::new(file),
    };
    let mut head = vec![0u8; FIRST_LINE];
    let mut filled = 0;
    while filled < head.len() {
        let n = read_retry(&mut reader, head.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            break;
        }
        filled += n;
        if memchr::memchr(b'\n', head.get(..filled).unwrap_or_default()).is_some() {
            break;
        }
    }
    head.truncate(filled);
    let end = memchr::memchr(b'\n', &head).unwrap_or(filled);
    head.truncate(end);
    Ok(head)
}

/// Longest first line [`first_line`] reads (a header of every flow-log field is under 1 KiB).
const FIRST_LINE: usize = 4 << 10;

/// Parts per thread: several, so that a thread that finishes early (its core was busy elsewhere) takes more.
const PARTS_PER_THREAD: usize = 4;

/// Scans a plain file on up to `threads` threads, in parts cut at line boundaries, one tally per thread.
pub fn plain(
    path: &Path,
    threads: usize,
    scan: &Scan<'_>,
    progress: Option<&ProgressBar>,
    new_tally: impl Fn() -> Tally + Sync,
) -> io::Result<Vec<Tally>> {
    let len = std::fs::metadata(path)?.len();
    let threads = usize::try_from(len / MIN_PART)
        .unwrap_or(usize::MAX)
        .clamp(1, threads.max(1));
    let parts = if threads > 1 {
        threads * PARTS_PER_THREAD
    } else {
        1
    };
    in_parts(path, parts, threads, scan, progress, new_tally)
}

/// Scans a plain file cut into `parts` byte ranges at line boundaries; `threads` threads take the next range in
/// turn, each counting into its own tally.
pub fn in_parts(
    path: &Path,
    parts: usize,
    threads: usize,
    scan: &Scan<'_>,
    progress: Option<&ProgressBar>,
    new_tally: impl Fn() -> Tally + Sync,
) -> io::Result<Vec<Tally>> {
    let len = std::fs::metadata(path)?.len();
    let cuts = cut_points(path, len, parts)?;
    let ranges: Vec<(u64, u64)> = cuts
        .windows(2)
        .map(|w| {
            (
                w.first().copied().unwrap_or(0),
                w.get(1).copied().unwrap_or(0),
            )
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.clamp(1, ranges.len().max(1)))
            .map(|_| {
                let (new_tally, ranges, next) = (&new_tally, &ranges, &next);
                s.spawn(move || -> io::Result<Tally> {
                    let mut tally = new_tally();
                    let mut f = File::open(path)?;
                    while let Some(&(start, end)) =
                        ranges.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    {
                        f.seek(SeekFrom::Start(start))?;
                        let inner = (&f).take(end - start);
                        stream(Counted { inner, progress }, &mut tally, scan)?;
                    }
                    Ok(tally)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("scan thread panicked")))
            })
            .collect()
    })
}

/// Offsets `0 = c0 < c1 < … < cn = len` where each inner cut follows a newline.
fn cut_points(path: &Path, len: u64, parts: usize) -> io::Result<Vec<u64>> {
    let mut cuts = vec![0u64];
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 64 << 10];
    for i in 1..parts {
        let guess = len / parts as u64 * i as u64;
        let last = cuts.last().copied().unwrap_or(0);
        if guess <= last {
            continue;
        }
        if let Some(cut) = next_line_start(&mut f, guess, &mut buf)? {
            if cut > last && cut < len {
                cuts.push(cut);
            }
        }
    }
    cuts.push(len);
    Ok(cuts)
}

/// The offset just after the first newline at or after `from`.
fn next_line_start(f: &mut File, from: u64, buf: &mut [u8]) -> io::Result<Option<u64>> {
    f.seek(SeekFrom::Start(from))?;
    let mut at = from;
    loop {
        let n = read_retry(f, buf)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(nl) = memchr::memchr(b'\n', buf.get(..n).unwrap_or_default()) {
            return Ok(Some(at + nl as u64 + 1));
        }
        at += n as u64;
    }
}
