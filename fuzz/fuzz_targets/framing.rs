//! Stream framing (newline and syslog octet counting): the first byte picks the framing, the limit and the size
//! of the reads; the rest is the stream. Frames are never empty nor over the limit, and cutting the stream into
//! reads of any size yields the same frames as reading it whole.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use torwatch::inputs::framing::{Decoder, Frame, Framing};

fn frames(framing: Framing, max: usize, stream: &[u8], read: usize) -> Vec<Frame> {
    let mut decoder = Decoder::new(framing, max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in stream.chunks(read.max(1)) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = decoder.decode(&mut buf) {
            out.push(frame);
        }
    }
    while let Some(frame) = decoder.decode_eof(&mut buf) {
        out.push(frame);
    }
    assert!(buf.is_empty(), "bytes left after the end of the stream");
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, stream)) = data.split_first() else {
        return;
    };
    let framing = if pick & 1 == 0 {
        Framing::Newline
    } else {
        Framing::Syslog
    };
    let max = usize::from(pick >> 1 & 0x0f) * 8 + 1;
    let read = usize::from(pick >> 5) + 1;
    let whole = frames(framing, max, stream, stream.len());
    for frame in &whole {
        if let Frame::Message(m) = frame {
            assert!(
                !m.is_empty() && m.len() <= max,
                "frame of {} bytes, limit {max}",
                m.len()
            );
        }
    }
    assert_eq!(
        frames(framing, max, stream, read),
        whole,
        "reads of {read} bytes"
    );
});
