//! The file tailer against a model: random appends (sometimes leaving a partial line), rotation by rename,
//! copytruncate, delete and recreate, clean stops and crashes (the tailer dropped without a flush, the consumer's
//! unprocessed batches lost with it). The model says exactly which lines must arrive: all of them, once, except
//! those the tailer cannot reach (written after the last read and before a copytruncate; left in a file deleted
//! while the tailer was not reading it; rotated away before the tailer ever saw the file). Those are counted.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use torwatch::inputs::file::Tailer;
use torwatch::inputs::{Batch, FileSpec, InputMetrics, Outbox, StartAt};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Live,
    Rotated,
    Deleted,
    Done,
}

/// One inode's content as written (a copytruncate starts a new one on the same inode).
#[derive(Debug)]
struct Gen {
    lines: Vec<String>,
    /// The written piece and the rest of a line without its newline yet.
    partial: Option<(String, String)>,
    place: Place,
    /// Lines the consumer has processed (the checkpoint's offset, in lines).
    acked: usize,
    /// The current tailer has this file open.
    open: bool,
    /// The checkpoint lists this file.
    checkpointed: bool,
    /// The checkpoint holds a fingerprint of this content (needed to find the file again after a rename).
    fingerprinted: bool,
}

impl Gen {
    fn new() -> Gen {
        Gen {
            lines: Vec::new(),
            partial: None,
            place: Place::Live,
            acked: 0,
            open: false,
            checkpointed: false,
            fingerprinted: false,
        }
    }
    /// Lines the tailer still owes: the unprocessed complete lines and, when the file is closed, the partial one.
    fn has_content(&self) -> bool {
        !self.lines.is_empty() || self.partial.is_some()
    }
    fn rest(&self, with_partial: bool) -> Vec<String> {
        let mut rest: Vec<String> = self.lines.iter().skip(self.acked).cloned().collect();
        if with_partial {
            rest.extend(self.partial.iter().map(|(piece, _)| piece.clone()));
        }
        rest
    }
}

struct World {
    rng: Rng,
    dir: tempfile::TempDir,
    gens: Vec<Gen>,
    live: usize,
    next_line: u64,
    next_name: u32,
    tailer: Option<(Tailer, mpsc::Receiver<Batch>)>,
    first_poll: bool,
    expected: Vec<String>,
    received: Vec<String>,
    written: usize,
    lost: usize,
    /// Losses by cause: copytruncate, deleted unread, rotated unseen.
    lost_by: [usize; 3],
    ops: [usize; 8],
}

impl World {
    fn new(seed: u64) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let world = World {
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
            dir,
            gens: vec![Gen::new()],
            live: 0,
            next_line: 0,
            next_name: 0,
            tailer: None,
            first_poll: true,
            expected: Vec::new(),
            received: Vec::new(),
            written: 0,
            lost: 0,
            lost_by: [0; 3],
            ops: [0; 8],
        };
        fs::File::create(world.path()).expect("create log");
        world
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("app.log")
    }

    fn spec(&self) -> FileSpec {
        let mut spec = FileSpec::new(
            vec![self.path().to_string_lossy().into_owned()],
            self.dir.path().join("state"),
        );
        spec.start_at = StartAt::Beginning;
        spec.rotate_grace = Duration::ZERO;
        spec
    }

    fn rotated_name(&mut self) -> PathBuf {
        self.next_name += 1;
        self.dir.path().join(format!("app.log.{}", self.next_name))
    }

    fn new_line(&mut self) -> String {
        self.next_line += 1;
        let pad: String = (0..self.rng.below(40))
            .map(|_| char::from(b'a' + self.rng.below(26) as u8))
            .collect();
        format!("L{:06}-g{}-{pad}", self.next_line, self.live)
    }

    fn append(&mut self) {
        let mut text = String::new();
        let live = self.live;
        if let Some((piece, rest)) = self.gens[live].partial.take() {
            text.push_str(&rest);
            text.push('\n');
            self.gens[live].lines.push(piece + &rest);
        }
        for _ in 0..self.rng.below(30) {
            let line = self.new_line();
            text.push_str(&line);
            text.push('\n');
            self.gens[live].lines.push(line);
            self.written += 1;
        }
        if self.rng.below(3) == 0 {
            let line = self.new_line();
            let cut = 10 + self.rng.below((line.len() - 10) as u64) as usize;
            let (piece, rest) = line.split_at(cut);
            text.push_str(piece);
            self.gens[live].partial = Some((piece.to_owned(), rest.to_owned()));
            self.written += 1;
        }
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.path())
            .expect("open log");
        file.write_all(text.as_bytes()).expect("append");
    }

    fn start_new_gen(&mut self) {
        self.gens.push(Gen::new());
        self.live = self.gens.len() - 1;
        fs::File::create(self.path()).expect("recreate log");
    }

    fn rotate(&mut self) {
        let to = self.rotated_name();
        fs::rename(self.path(), to).expect("rotate");
        self.gens[self.live].place = Place::Rotated;
        self.start_new_gen();
    }

    fn delete(&mut self) {
        fs::remove_file(self.path()).expect("delete");
        self.gens[self.live].place = Place::Deleted;
        self.start_new_gen();
    }

    fn copytruncate(&mut self) {
        let to = self.rotated_name();
        fs::copy(self.path(), to).expect("copy");
        OpenOptions::new()
            .write(true)
            .open(self.path())
            .expect("open")
            .set_len(0)
            .expect("truncate");
        let old = &mut self.gens[self.live];
        self.lost += old.rest(true).len();
        self.lost_by[0] += old.rest(true).len();
        old.place = Place::Done;
        let (open, checkpointed) = (old.open, old.checkpointed);
        self.gens.push(Gen {
            open,
            checkpointed,
            ..Gen::new()
        });
        self.live = self.gens.len() - 1;
    }

    /// What one poll of the tailer delivers, per the rules in the file module's documentation.
    fn model_poll(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let first = std::mem::replace(&mut self.first_poll, false);
        for gen in self
            .gens
            .iter_mut()
            .filter(|g| matches!(g.place, Place::Rotated | Place::Deleted))
        {
            let found_again =
                gen.place == Place::Rotated && first && gen.checkpointed && gen.fingerprinted;
            let reachable = gen.open || found_again;
            if reachable {
                out.extend(gen.rest(true));
                gen.open = true;
                gen.checkpointed = true;
                gen.fingerprinted |= gen.has_content();
            } else {
                self.lost += gen.rest(true).len();
                self.lost_by[if gen.place == Place::Deleted { 1 } else { 2 }] +=
                    gen.rest(true).len();
                gen.place = Place::Done;
            }
        }
        let live = &mut self.gens[self.live];
        out.extend(live.rest(false));
        live.open = true;
        live.checkpointed = true;
        live.fingerprinted = live.has_content();
        out
    }

    /// The consumer processed everything the model poll delivered.
    fn model_ack(&mut self) {
        for gen in &mut self.gens {
            match gen.place {
                Place::Live => gen.acked = gen.lines.len(),
                Place::Rotated | Place::Deleted if gen.open => {
                    gen.acked = gen.lines.len();
                    gen.place = Place::Done;
                }
                _ => {}
            }
        }
    }

    /// The tailer is gone: files it had open are closed, deleted ones with them.
    fn model_stop(&mut self) {
        for gen in &mut self.gens {
            gen.open = false;
            if gen.place == Place::Deleted {
                self.lost += gen.rest(true).len();
                self.lost_by[1] += gen.rest(true).len();
                gen.place = Place::Done;
            }
        }
    }

    async fn poll(&mut self, ack: bool) {
        let token = CancellationToken::new();
        let (tailer, rx) = self.tailer.as_mut().expect("running");
        while tailer.poll(&token).await.expect("poll") {}
        let mut got = Vec::new();
        while let Ok(batch) = rx.try_recv() {
            if ack {
                got.extend(
                    batch
                        .each_line()
                        .map(|l| String::from_utf8(l.to_vec()).expect("utf-8")),
                );
                batch.ack.expect("file batches carry an ack").commit();
            }
        }
        let delivered = self.model_poll();
        if ack {
            let (mut a, mut b) = (got.clone(), delivered.clone());
            a.sort();
            b.sort();
            assert_eq!(a, b, "poll delivered other lines than the model");
            self.received.extend(got);
            self.expected.extend(delivered);
            self.model_ack();
        }
    }

    fn start(&mut self) {
        let (tx, rx) = mpsc::channel(1 << 16);
        let out = Outbox::new(0, tx, InputMetrics::default().input("model"));
        let tailer = Tailer::open("model", self.spec(), 64 * 1024, out).expect("open tailer");
        self.tailer = Some((tailer, rx));
        self.first_poll = true;
    }

    async fn step(&mut self) {
        let running = self.tailer.is_some();
        // append, rotate, copytruncate, delete, start, poll, crash, stop
        let weights: [u64; 8] = if running {
            [30, 8, 5, 5, 0, 30, 6, 6]
        } else {
            [40, 10, 5, 5, 40, 0, 0, 0]
        };
        let mut pick = self.rng.below(weights.iter().sum());
        let op = weights
            .iter()
            .position(|w| {
                pick < *w || {
                    pick -= w;
                    false
                }
            })
            .unwrap_or(0);
        self.ops[op] += 1;
        if std::env::var_os("TAILER_MODEL_TRACE").is_some() {
            let gens: Vec<_> = self
                .gens
                .iter()
                .map(|g| (g.place, g.lines.len(), g.acked, g.open, g.checkpointed))
                .collect();
            eprintln!("op {op} running {running} live {} {gens:?}", self.live);
        }
        match op {
            0 => self.append(),
            1 => self.rotate(),
            2 => self.copytruncate(),
            3 => self.delete(),
            4 => self.start(),
            5 => self.poll(true).await,
            6 => {
                // Crash: sometimes in the middle of a poll whose batches the consumer never processed.
                if self.rng.below(2) == 0 {
                    self.poll(false).await;
                }
                self.tailer = None;
                self.model_stop();
            }
            _ => {
                let (tailer, _) = self.tailer.take().expect("running");
                tailer.flush().expect("flush");
                self.model_stop();
            }
        }
    }
}

async fn run_seed(seed: u64, steps: usize) -> World {
    let mut world = World::new(seed);
    world.start();
    for _ in 0..steps {
        world.step().await;
    }
    if world.tailer.is_none() {
        world.start();
    }
    world.poll(true).await;
    world.poll(true).await;
    world
}

/// Lines of one file arrive in the order they were written.
fn assert_in_order_per_file(received: &[String], seed: u64) {
    let mut last = std::collections::HashMap::new();
    for line in received {
        let mut parts = line.split('-');
        let id = parts.next().unwrap_or_default().to_owned();
        let gen = parts.next().unwrap_or_default().to_owned();
        if let Some(prev) = last.insert(gen, id.clone()) {
            assert!(prev < id, "seed {seed}: {line} arrived after {prev}");
        }
    }
}

#[tokio::test]
async fn every_line_arrives_once_except_the_documented_losses() {
    let (mut lost, mut delivered, mut ops, mut lost_by) = (0, 0, [0; 8], [0; 3]);
    for seed in 1..=32 {
        let world = run_seed(seed, 120).await;
        let mut received = world.received.clone();
        let mut expected = world.expected.clone();
        received.sort();
        expected.sort();
        assert_eq!(received, expected, "seed {seed}");
        assert_in_order_per_file(&world.received, seed);
        let before = received.len();
        received.dedup();
        assert_eq!(received.len(), before, "seed {seed}: a line arrived twice");
        let unfinished = usize::from(world.gens[world.live].partial.is_some());
        assert_eq!(
            world.written,
            expected.len() + world.lost + unfinished,
            "seed {seed}: model accounting"
        );
        assert_eq!(world.lost, world.lost_by.iter().sum::<usize>());
        lost += world.lost;
        for (total, n) in lost_by.iter_mut().zip(world.lost_by) {
            *total += n;
        }
        delivered += expected.len();
        for (total, n) in ops.iter_mut().zip(world.ops) {
            *total += n;
        }
    }
    eprintln!("delivered {delivered}; lost as documented {lost} (copytruncate, deleted unread, rotated unseen: {lost_by:?}); ops {ops:?}");
    assert!(ops.iter().all(|n| *n > 0), "every operation ran: {ops:?}");
    assert!(
        lost_by.iter().all(|n| *n > 0),
        "every kind of loss was exercised: {lost_by:?}"
    );
    assert!(delivered > lost, "{lost} lost of {delivered}");
}

#[tokio::test]
async fn first_sight_starts_at_the_end_and_resumes_from_the_checkpoint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fw.log");
    fs::write(&path, "old 1\nold 2\nparti").expect("write");
    let spec = FileSpec::new(
        vec![path.to_string_lossy().into_owned()],
        dir.path().join("state"),
    );
    let token = CancellationToken::new();
    let mut lines = Vec::new();
    for round in 0..2 {
        let (tx, mut rx) = mpsc::channel(64);
        let out = Outbox::new(3, tx, InputMetrics::default().input("fw"));
        let mut tailer = Tailer::open("fw", spec.clone(), 1024, out).expect("open");
        tailer.poll(&token).await.expect("poll");
        let text = if round == 0 { "al\nnew 1\n" } else { "new 2\n" };
        OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open")
            .write_all(text.as_bytes())
            .expect("append");
        tailer.poll(&token).await.expect("poll");
        while let Ok(batch) = rx.try_recv() {
            assert_eq!(batch.input, 3);
            lines.extend(
                batch
                    .each_line()
                    .map(|l| String::from_utf8_lossy(l).into_owned()),
            );
            batch.ack.expect("ack").commit();
        }
    }
    assert_eq!(lines, ["partial", "new 1", "new 2"]);
}
