//! Allocation counts: encoding a payload allocates once, and hostile input costs memory in proportion to its
//! size, whatever lengths it announces.

use bytes::Bytes;
use engineio_parser::{v3, v4, Frame, Packet};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the allocations and allocated bytes of the current thread (tests run on several threads).
struct Counting;

thread_local! {
    static COUNT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        COUNT.with(|c| c.set((c.get().0 + 1, c.get().1 + layout.size())));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations and bytes it made.
fn counted<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let before = COUNT.with(Cell::get);
    let out = f();
    let after = COUNT.with(Cell::get);
    (out, after.0 - before.0, after.1 - before.1)
}

fn packets() -> Vec<Packet> {
    vec![
        Packet::message(r#"2["chat","héllo 😀"]"#),
        Packet::binary(vec![7u8; 1000]),
        Packet::ping_probe(),
        Packet::noop(),
        Packet::message("x".repeat(500)),
    ]
}

#[test]
fn payloads_are_encoded_in_one_exact_allocation() {
    let packets = packets();
    let (payload, n, bytes) = counted(|| v4::encode_payload(&packets));
    assert_eq!((n, bytes), (1, payload.len()), "v4 payload");
    let (payload, n, bytes) = counted(|| v3::encode_payload_string(&packets));
    assert_eq!((n, bytes), (1, payload.len()), "v3 string payload");
    let (payload, n, bytes) = counted(|| v3::encode_payload_binary(&packets));
    assert_eq!((n, bytes), (1, payload.len()), "v3 binary payload");
    let (_, n, _) = counted(|| v4::encode_frame(&Packet::noop()));
    assert_eq!(n, 0, "a packet without data is a static string");
    let Frame::Binary(frame) = v4::encode_frame(&packets[1]) else { panic!("a binary frame") };
    let shared = packets[1].data.as_binary().map(|b| b.as_ptr());
    assert_eq!(Some(frame.as_ptr()), shared, "a v4 binary frame shares the packet's bytes");
}

#[test]
fn decoding_does_not_copy_text() {
    let body = v4::encode_payload(&[Packet::message("x".repeat(10_000))]).into_bytes();
    let (packets, _, bytes) = counted(|| v4::decode_payload(body.clone(), usize::MAX));
    assert_eq!(packets.unwrap()[0].data.len(), 10_000);
    assert!(bytes < 1_000, "{bytes} bytes allocated to decode a 10 KB text payload");
}

#[test]
fn announced_lengths_cost_nothing() {
    let hostile: [&[u8]; 4] = [
        b"4294967296:4hi",
        b"99999999999999999999:4",
        b"\x00\x04\x02\x09\x04\x09\x06\x07\x02\x09\x06\xff4",
        b"\x01\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\xff\x04",
    ];
    for body in hostile {
        let (result, _, bytes) = counted(|| v3::decode_payload(Bytes::from_static(body), usize::MAX));
        assert!(result.is_err(), "{body:?}");
        assert!(bytes < 1_000, "{bytes} bytes allocated for {body:?}");
    }
}
