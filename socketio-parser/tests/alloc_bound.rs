//! Decoding hostile input allocates memory in proportion to the input, whatever lengths and counts the
//! input announces. A counting allocator measures the peak of live heap bytes during each decode.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use bytes::Bytes;
use socketio_parser::{Frame, JsonParser, MsgpackParser, Parser};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Peak heap growth while decoding `frames` with a fresh decoder of `parser`.
fn peak_growth(parser: &dyn Parser, frames: Vec<Frame>) -> usize {
    let mut decoder = parser.decoder();
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    for f in frames {
        if decoder.add(f).is_err() {
            break;
        }
    }
    PEAK.load(Ordering::SeqCst).saturating_sub(base)
}

#[test]
fn hostile_inputs_cost_memory_in_proportion_to_their_size() {
    let big_array = {
        let mut v = b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\xdd\x00\x10\x00\x00".to_vec();
        v.extend(std::iter::repeat_n(0xc0, 1000));
        v
    };
    let json = JsonParser::default();
    let cases: Vec<(&str, &dyn Parser, Vec<Frame>)> = vec![
        (
            "msgpack array of 2^32-1 announced",
            &MsgpackParser,
            vec![Frame::Binary(Bytes::from_static(b"\x81\xa4data\xdd\xff\xff\xff\xff\xc0"))],
        ),
        ("msgpack array of 2^20 announced, 1000 sent", &MsgpackParser, vec![Frame::Binary(big_array.into())]),
        (
            "msgpack map of 2^32-1 announced",
            &MsgpackParser,
            vec![Frame::Binary(Bytes::from_static(b"\xdf\xff\xff\xff\xff\xa1a\xc0"))],
        ),
        (
            "msgpack str of 4 GB announced",
            &MsgpackParser,
            vec![Frame::Binary(Bytes::from_static(b"\xdb\xff\xff\xff\xff"))],
        ),
        (
            "msgpack bin of 4 GB announced",
            &MsgpackParser,
            vec![Frame::Binary(Bytes::from_static(b"\xc6\xff\xff\xff\xff"))],
        ),
        ("json 10^6 attachments announced", &json, vec![Frame::Text(r#"51000000-["a"]"#.into())]),
        ("json deep nesting", &json, vec![Frame::Text(format!("2[\"a\",{}]", "[".repeat(200_000)).into())]),
        (
            "json attachments sent one by one",
            &json,
            std::iter::once(Frame::Text(r#"510-["a"]"#.into()))
                .chain((0..9).map(|_| Frame::Binary(Bytes::from_static(b"x"))))
                .collect(),
        ),
    ];
    for (name, parser, frames) in cases {
        let input: usize = frames.iter().map(Frame::len).sum();
        let growth = peak_growth(parser, frames);
        let bound = 64 * input + 16 * 1024;
        assert!(
            growth <= bound,
            "{name}: {growth} bytes allocated for {input} bytes of input (bound {bound})"
        );
    }
}
