use super::*;

/// Feeds `stream` in pieces of `chunk` bytes and returns the frames, `None` standing for an oversize message.
/// With `runs`, frames are taken with [`Decoder::decode_lines`], and its runs of lines are cut as their reader
/// cuts them (empty lines dropped, a `\r` before the newline dropped, lines over `max` oversize).
fn decode_in_chunks(
    framing: Framing,
    max: usize,
    stream: &[u8],
    chunk: usize,
    runs: bool,
) -> Vec<Option<String>> {
    let mut decoder = Decoder::new(framing, max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut push = |frame: Frame| match frame {
        Frame::Message(m) => out.push(Some(String::from_utf8_lossy(&m).into_owned())),
        Frame::Oversize => out.push(None),
        Frame::Lines(run) => {
            assert_eq!(run.last(), Some(&b'\n'), "a run ends a line");
            for line in run.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                out.push((line.len() <= max).then(|| String::from_utf8_lossy(line).into_owned()));
            }
        }
    };
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(frame) = match runs {
            true => decoder.decode_lines(&mut buf),
            false => decoder.decode(&mut buf),
        } {
            push(frame);
        }
    }
    while let Some(frame) = decoder.decode_eof(&mut buf) {
        push(frame);
    }
    out
}

/// Every way of splitting `stream` into reads gives `expected`.
fn check(framing: Framing, max: usize, stream: &str, expected: &[Option<&str>]) {
    let expected: Vec<Option<String>> = expected.iter().map(|e| e.map(str::to_owned)).collect();
    for chunk in 1..=stream.len().max(1) {
        let got = decode_in_chunks(framing, max, stream.as_bytes(), chunk, false);
        assert_eq!(got, expected, "chunk size {chunk} of {stream:?}");
        if framing == Framing::Newline {
            let got = decode_in_chunks(framing, max, stream.as_bytes(), chunk, true);
            assert_eq!(
                got, expected,
                "chunk size {chunk} of {stream:?}, in runs of lines"
            );
        }
    }
}

#[test]
fn newline_frames_split_across_reads() {
    check(
        Framing::Newline,
        100,
        "a b\r\nsecond\n\nthird",
        &[Some("a b"), Some("second"), Some("third")],
    );
}

#[test]
fn newline_oversize_line_is_skipped_to_its_newline() {
    check(
        Framing::Newline,
        5,
        "12345\n123456789\nok\n",
        &[Some("12345"), None, Some("ok")],
    );
}

#[test]
fn newline_framing_never_reads_counts() {
    check(Framing::Newline, 100, "5 abc\n", &[Some("5 abc")]);
}

#[test]
fn octet_counts_split_across_reads() {
    let stream = "11 <13>1 hello5 <14>x13 <15>two\nlines";
    check(
        Framing::Syslog,
        100,
        stream,
        &[Some("<13>1 hello"), Some("<14>x"), Some("<15>two\nlines")],
    );
}

#[test]
fn octet_counted_and_newline_frames_mix() {
    let stream = "<13>plain line\n7 <14>abc<15>another\n";
    check(
        Framing::Syslog,
        100,
        stream,
        &[Some("<13>plain line"), Some("<14>abc"), Some("<15>another")],
    );
}

#[test]
fn trailing_newline_after_counted_frame_is_ignored() {
    check(
        Framing::Syslog,
        100,
        "4 <1>a\n4 <2>b\r\n",
        &[Some("<1>a"), Some("<2>b")],
    );
}

#[test]
fn oversize_count_skips_exactly_its_bytes() {
    check(
        Framing::Syslog,
        8,
        "12 <13>12345678<14>ok\n",
        &[None, Some("<14>ok")],
    );
}

#[test]
fn bad_counts_fall_back_to_newline_framing() {
    // Leading zero, letters after digits, ten digits, zero: none of these is an RFC 6587 count.
    let stream = "012 <13>a\n12x <13>b\n1234567890 c\n0 d\n";
    check(
        Framing::Syslog,
        100,
        stream,
        &[
            Some("012 <13>a"),
            Some("12x <13>b"),
            Some("1234567890 c"),
            Some("0 d"),
        ],
    );
}

#[test]
fn unfinished_counted_frame_at_eof_is_returned_as_far_as_it_got() {
    check(Framing::Syslog, 100, "20 <13>short", &[Some("<13>short")]);
}

#[test]
fn huge_count_is_oversize_not_a_panic() {
    check(Framing::Syslog, 1000, "999999999 <13>x", &[None]);
}

#[test]
fn consumed_bytes_are_taken_from_the_front() {
    let mut decoder = Decoder::new(Framing::Newline, 100);
    let mut buf = BytesMut::from(&b"one\ntwo\nthr"[..]);
    let mut seen = 0;
    while decoder.decode(&mut buf).is_some() {
        seen += 1;
    }
    assert_eq!(seen, 2);
    assert_eq!(&buf[..], b"thr");
    assert!(!decoder.is_skipping());
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2000 {
        let len = (seed % 64) as usize;
        let stream: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                b"0123456789 <>\n\rab"[(seed % 17) as usize]
            })
            .collect();
        let chunk = (seed % 5) as usize + 1;
        for framing in [Framing::Newline, Framing::Syslog] {
            let _ = decode_in_chunks(framing, 7, &stream, chunk, false);
        }
        // Runs of lines, cut by their reader, give what the decoder gives line by line.
        assert_eq!(
            decode_in_chunks(Framing::Newline, 7, &stream, chunk, true),
            decode_in_chunks(Framing::Newline, 7, &stream, chunk, false),
            "{stream:?} in reads of {chunk}"
        );
    }
}

#[test]
fn a_message_of_exactly_the_limit_is_whole_whatever_the_reads() {
    check(Framing::Newline, 3, "abc\r\nd\n", &[Some("abc"), Some("d")]);
    check(Framing::Syslog, 1, "9\r\n", &[Some("9")]);
    check(Framing::Newline, 3, "abc\rx\n", &[None]);
}
