//! The server side of the RFC 6455 framing: reads the masked frames of a client (fragmented messages,
//! control frames between fragments, the close handshake, the UTF-8 check of text) and builds the
//! headers of unmasked frames, whose payloads are then written as they are, shared, never copied.
//!
//! The decoder keeps bytes only while a frame is incomplete: an idle connection holds none.

use bytes::Bytes;
use engineio_parser::Str;
use std::fmt;

/// A frame's operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    Continuation = 0,
    Text = 1,
    Binary = 2,
    Close = 8,
    Ping = 9,
    Pong = 10,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// What the client sent: a whole message, or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A text message (checked UTF-8).
    Text(Str),
    /// A binary message.
    Binary(Bytes),
    /// A ping, to be answered by a pong with the same payload.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// A close frame, with its status code when it has one.
    Close(Option<u16>),
}

/// Why the client's frames were refused; each maps to the status code of the close frame sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A frame the protocol forbids (1002).
    Protocol(&'static str),
    /// A message over the size limit (1009).
    TooLarge,
    /// A text message or close reason that is not UTF-8 (1007).
    InvalidUtf8,
}

impl DecodeError {
    /// The status code of the close frame that answers the error.
    pub(crate) fn close_code(self) -> u16 {
        match self {
            DecodeError::Protocol(_) => 1002,
            DecodeError::TooLarge => 1009,
            DecodeError::InvalidUtf8 => 1007,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Protocol(what) => write!(f, "websocket protocol error: {what}"),
            DecodeError::TooLarge => f.write_str("websocket message too large"),
            DecodeError::InvalidUtf8 => f.write_str("websocket text is not UTF-8"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The longest header of a client frame: 2 bytes, a 64-bit length, a 4-byte mask.
const MAX_CLIENT_HEADER: usize = 14;

/// The frame whose payload is being read.
#[derive(Debug)]
struct InFrame {
    fin: bool,
    opcode: OpCode,
    mask: [u8; 4],
    /// Payload bytes still to come.
    remaining: usize,
    /// Payload bytes read so far (the mask's phase).
    read: usize,
    /// A control frame's payload (a data frame's goes straight to the message).
    control: Vec<u8>,
}

/// A data message whose frames are being read.
#[derive(Debug)]
struct InMessage {
    text: bool,
    data: Vec<u8>,
}

/// Reads client frames from bytes handed in any slicing, one byte at a time or many frames at once.
#[derive(Debug)]
pub(crate) struct Decoder {
    max_message: usize,
    header: [u8; MAX_CLIENT_HEADER],
    header_len: usize,
    frame: Option<InFrame>,
    message: Option<InMessage>,
    /// A close frame was read: whatever follows is ignored.
    closed: bool,
}

impl Decoder {
    /// A decoder refusing messages over `max_message` bytes.
    pub(crate) fn new(max_message: usize) -> Self {
        Decoder {
            max_message,
            header: [0; MAX_CLIENT_HEADER],
            header_len: 0,
            frame: None,
            message: None,
            closed: false,
        }
    }

    /// Whether the decoder holds part of a frame or message (heap bytes while one is in progress).
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        self.header_len == 0 && self.frame.is_none() && self.message.is_none()
    }

    /// Reads `input`, handing each message and control frame completed to `out`, in order. After an
    /// error the connection must be closed: the decoder's state is then meaningless.
    pub(crate) fn feed(
        &mut self,
        mut input: &[u8],
        out: &mut impl FnMut(Incoming),
    ) -> Result<(), DecodeError> {
        while !input.is_empty() && !self.closed {
            if self.frame.is_none() {
                let needed = self.header_needed()?;
                let take = (needed - self.header_len).min(input.len());
                self.header[self.header_len..self.header_len + take].copy_from_slice(&input[..take]);
                self.header_len += take;
                input = &input[take..];
                // A header is complete once its length bytes no longer ask for more.
                if self.header_len < 2 || self.header_len < self.header_needed()? {
                    continue;
                }
                self.start_frame()?;
                if self.frame.as_ref().is_some_and(|f| f.remaining == 0) {
                    self.end_frame(out)?;
                }
                continue;
            }
            let Some(frame) = self.frame.as_mut() else { continue };
            let take = frame.remaining.min(input.len());
            let (chunk, rest) = input.split_at(take);
            input = rest;
            let target = if frame.opcode.is_control() {
                &mut frame.control
            } else {
                match self.message.as_mut() {
                    Some(m) => &mut m.data,
                    None => return Err(DecodeError::Protocol("data outside a message")),
                }
            };
            let phase = frame.read;
            target.extend(chunk.iter().enumerate().map(|(i, b)| b ^ frame.mask[(phase + i) % 4]));
            frame.read += take;
            frame.remaining -= take;
            if frame.remaining == 0 {
                self.end_frame(out)?;
            }
        }
        Ok(())
    }

    /// How many header bytes the frame being started has, as far as the bytes so far tell.
    fn header_needed(&self) -> Result<usize, DecodeError> {
        if self.header_len < 2 {
            return Ok(2);
        }
        if self.header[1] & 0x80 == 0 {
            return Err(DecodeError::Protocol("an unmasked client frame"));
        }
        Ok(match self.header[1] & 0x7f {
            126 => 2 + 2 + 4,
            127 => 2 + 8 + 4,
            _ => 2 + 4,
        })
    }

    /// Checks the complete header and starts reading the frame's payload.
    fn start_frame(&mut self) -> Result<(), DecodeError> {
        let h = &self.header[..self.header_len];
        self.header_len = 0;
        let fin = h[0] & 0x80 != 0;
        if h[0] & 0x70 != 0 {
            return Err(DecodeError::Protocol("reserved bits set (no extension was agreed)"));
        }
        let opcode = OpCode::from_bits(h[0] & 0x0f).ok_or(DecodeError::Protocol("unknown opcode"))?;
        let (len, mask_at) = match h[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
            127 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&h[2..10]);
                let len = u64::from_be_bytes(n);
                if len >> 63 != 0 {
                    return Err(DecodeError::Protocol("a 64-bit length with its top bit set"));
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&h[mask_at..mask_at + 4]);
        if opcode.is_control() {
            if !fin {
                return Err(DecodeError::Protocol("a fragmented control frame"));
            }
            if len > 125 {
                return Err(DecodeError::Protocol("a control frame over 125 bytes"));
            }
        } else {
            let so_far = match (&self.message, opcode) {
                (None, OpCode::Continuation) => {
                    return Err(DecodeError::Protocol("a continuation frame outside a message"))
                }
                (Some(_), OpCode::Text | OpCode::Binary) => {
                    return Err(DecodeError::Protocol("a new message inside a fragmented one"))
                }
                (Some(m), _) => m.data.len(),
                (None, _) => 0,
            };
            let total = (so_far as u64).saturating_add(len);
            if total > self.max_message as u64 {
                return Err(DecodeError::TooLarge);
            }
            let len = len as usize;
            match self.message.as_mut() {
                Some(m) => m.data.reserve(len),
                None => {
                    self.message =
                        Some(InMessage { text: opcode == OpCode::Text, data: Vec::with_capacity(len) })
                }
            }
        }
        // Bounded above: 125 for control frames, the message limit for data frames.
        let remaining = len as usize;
        self.frame = Some(InFrame { fin, opcode, mask, remaining, read: 0, control: Vec::new() });
        Ok(())
    }

    /// Ends the frame whose payload is complete: a control frame or a whole message goes to `out`.
    fn end_frame(&mut self, out: &mut impl FnMut(Incoming)) -> Result<(), DecodeError> {
        let Some(frame) = self.frame.take() else { return Ok(()) };
        match frame.opcode {
            OpCode::Ping => out(Incoming::Ping(Bytes::from(frame.control))),
            OpCode::Pong => out(Incoming::Pong),
            OpCode::Close => {
                let code = match frame.control.as_slice() {
                    [] => None,
                    [_] => return Err(DecodeError::Protocol("a close frame of one byte")),
                    [a, b, reason @ ..] => {
                        std::str::from_utf8(reason).map_err(|_| DecodeError::InvalidUtf8)?;
                        Some(u16::from_be_bytes([*a, *b]))
                    }
                };
                self.closed = true;
                out(Incoming::Close(code));
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                if !frame.fin {
                    return Ok(());
                }
                let Some(message) = self.message.take() else { return Ok(()) };
                let data = Bytes::from(message.data);
                if message.text {
                    out(Incoming::Text(Str::from_utf8(data).map_err(|_| DecodeError::InvalidUtf8)?));
                } else {
                    out(Incoming::Binary(data));
                }
            }
        }
        Ok(())
    }
}

/// The longest header of a server frame: 2 bytes and a 64-bit length (no mask).
pub(crate) const MAX_SERVER_HEADER: usize = 10;

/// The header of an unmasked, final frame of `len` payload bytes, in a fixed array: its bytes are
/// `.0[..len]` with the length `.1`.
pub(crate) fn server_header(opcode: OpCode, len: usize) -> ([u8; MAX_SERVER_HEADER], usize) {
    let mut h = [0u8; MAX_SERVER_HEADER];
    h[0] = 0x80 | opcode as u8;
    let n = if len < 126 {
        h[1] = len as u8;
        2
    } else if len <= usize::from(u16::MAX) {
        h[1] = 126;
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (h, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with `mask`, `fin` as given.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= 0xffff {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn decode_all(decoder: &mut Decoder, input: &[u8]) -> Result<Vec<Incoming>, DecodeError> {
        let mut got = Vec::new();
        decoder.feed(input, &mut |m| got.push(m))?;
        Ok(got)
    }

    fn text(s: &str) -> Incoming {
        Incoming::Text(Str::from(s.to_string()))
    }

    #[test]
    fn a_masked_text_frame() {
        let mut d = Decoder::new(1000);
        let got = decode_all(&mut d, &client_frame(true, 1, b"Hello", MASK)).unwrap();
        assert_eq!(got, vec![text("Hello")]);
        assert!(d.is_idle());
    }

    #[test]
    fn the_rfc_example_frame() {
        // RFC 6455 5.7: a masked "Hello".
        let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        assert_eq!(decode_all(&mut Decoder::new(100), &frame).unwrap(), vec![text("Hello")]);
    }

    #[test]
    fn an_unmasked_client_frame_is_refused() {
        let frame = [0x81, 0x05, b'H', b'e', b'l', b'l', b'o'];
        assert!(matches!(decode_all(&mut Decoder::new(100), &frame), Err(DecodeError::Protocol(_))));
    }

    #[test]
    fn lengths_of_16_and_64_bits() {
        for len in [125usize, 126, 127, 65535, 65536, 200_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let frame = client_frame(true, 2, &payload, MASK);
            let got = decode_all(&mut Decoder::new(1 << 20), &frame).unwrap();
            assert_eq!(got, vec![Incoming::Binary(Bytes::from(payload))], "length {len}");
        }
    }

    #[test]
    fn fragments_with_control_frames_between_them() {
        let mut input = client_frame(false, 1, b"Hel", MASK);
        input.extend(client_frame(true, 9, b"are you there", MASK));
        input.extend(client_frame(false, 0, b"lo, ", [1, 2, 3, 4]));
        input.extend(client_frame(true, 10, b"", MASK));
        input.extend(client_frame(true, 0, "wörld".as_bytes(), [9, 8, 7, 6]));
        input.extend(client_frame(true, 2, &[0, 1, 2], MASK));
        let got = decode_all(&mut Decoder::new(1000), &input).unwrap();
        assert_eq!(
            got,
            vec![
                Incoming::Ping(Bytes::from_static(b"are you there")),
                Incoming::Pong,
                text("Hello, wörld"),
                Incoming::Binary(Bytes::from_static(&[0, 1, 2])),
            ]
        );
    }

    #[test]
    fn byte_by_byte() {
        let mut input = client_frame(false, 2, &[7; 300], MASK);
        input.extend(client_frame(true, 9, b"p", MASK));
        input.extend(client_frame(true, 0, &[8; 70_000], MASK));
        input.extend(client_frame(true, 1, "né".as_bytes(), MASK));
        let mut d = Decoder::new(1 << 20);
        let mut got = Vec::new();
        for b in &input {
            d.feed(std::slice::from_ref(b), &mut |m| got.push(m)).unwrap();
        }
        let mut expected = vec![7u8; 300];
        expected.extend([8u8; 70_000]);
        assert_eq!(
            got,
            vec![
                Incoming::Ping(Bytes::from_static(b"p")),
                Incoming::Binary(Bytes::from(expected)),
                text("né")
            ]
        );
        assert!(d.is_idle());
    }

    #[test]
    fn a_utf8_character_split_across_fragments() {
        let bytes = "é".as_bytes();
        let mut input = client_frame(false, 1, &bytes[..1], MASK);
        input.extend(client_frame(true, 0, &bytes[1..], MASK));
        assert_eq!(decode_all(&mut Decoder::new(10), &input).unwrap(), vec![text("é")]);
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let frame = client_frame(true, 1, &[0x66, 0xff, 0x66], MASK);
        assert_eq!(decode_all(&mut Decoder::new(10), &frame), Err(DecodeError::InvalidUtf8));
        // Invalid UTF-8 in binary is fine.
        let frame = client_frame(true, 2, &[0xff], MASK);
        assert_eq!(decode_all(&mut Decoder::new(10), &frame).unwrap().len(), 1);
    }

    #[test]
    fn the_size_limit_is_on_the_whole_message() {
        let at_limit = client_frame(true, 2, &[1; 100], MASK);
        assert_eq!(decode_all(&mut Decoder::new(100), &at_limit).unwrap().len(), 1);
        let over = client_frame(true, 2, &[1; 101], MASK);
        assert_eq!(decode_all(&mut Decoder::new(100), &over), Err(DecodeError::TooLarge));
        // Refused on its header, before the payload arrives.
        assert_eq!(decode_all(&mut Decoder::new(100), &over[..6]), Err(DecodeError::TooLarge));
        let mut fragmented = client_frame(false, 1, &[b'a'; 60], MASK);
        fragmented.extend(client_frame(true, 0, &[b'a'; 41], MASK));
        assert_eq!(decode_all(&mut Decoder::new(100), &fragmented), Err(DecodeError::TooLarge));
        // A huge declared length does not allocate.
        let mut huge = vec![0x82, 0xff];
        huge.extend_from_slice(&(1u64 << 62).to_be_bytes());
        huge.extend_from_slice(&MASK);
        assert_eq!(decode_all(&mut Decoder::new(100), &huge), Err(DecodeError::TooLarge));
    }

    #[test]
    fn protocol_errors() {
        let cases: Vec<Vec<u8>> = vec![
            client_frame(true, 0, b"x", MASK),      // continuation outside a message
            client_frame(false, 9, b"x", MASK),     // fragmented control frame
            client_frame(true, 9, &[0; 126], MASK), // control frame too long
            client_frame(true, 3, b"x", MASK),      // reserved opcode
            client_frame(true, 0x41, b"x", MASK),   // RSV1 without an extension
            client_frame(true, 8, &[3], MASK),      // one-byte close payload
            [client_frame(false, 1, b"a", MASK), client_frame(true, 2, b"b", MASK)].concat(), // nested
        ];
        for (i, input) in cases.iter().enumerate() {
            assert!(
                matches!(decode_all(&mut Decoder::new(1000), input), Err(DecodeError::Protocol(_))),
                "case {i}"
            );
        }
    }

    #[test]
    fn close_frames() {
        let mut d = Decoder::new(100);
        let mut input = client_frame(true, 8, &[0x03, 0xe8, b'b', b'y', b'e'], MASK);
        // Whatever follows a close is ignored.
        input.extend(client_frame(true, 1, b"late", MASK));
        assert_eq!(decode_all(&mut d, &input).unwrap(), vec![Incoming::Close(Some(1000))]);
        assert_eq!(
            decode_all(&mut Decoder::new(100), &client_frame(true, 8, b"", MASK)).unwrap(),
            vec![Incoming::Close(None)]
        );
        let bad_reason = client_frame(true, 8, &[0x03, 0xe8, 0xff], MASK);
        assert_eq!(decode_all(&mut Decoder::new(100), &bad_reason), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn server_headers() {
        let (h, n) = server_header(OpCode::Text, 5);
        assert_eq!(&h[..n], &[0x81, 5]);
        let (h, n) = server_header(OpCode::Binary, 126);
        assert_eq!(&h[..n], &[0x82, 126, 0, 126]);
        let (h, n) = server_header(OpCode::Binary, 65535);
        assert_eq!(&h[..n], &[0x82, 126, 0xff, 0xff]);
        let (h, n) = server_header(OpCode::Binary, 65536);
        assert_eq!(&h[..n], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
        let (h, n) = server_header(OpCode::Close, 0);
        assert_eq!(&h[..n], &[0x88, 0]);
    }
}
