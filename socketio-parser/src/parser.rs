//! The [`Parser`] and [`Decoder`] traits every Socket.IO parser implements.

use crate::{DecodeError, Packet};
use engineio_parser::Frame;
use std::fmt;

/// The Socket.IO protocol revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ProtocolVersion {
    /// Protocol v4, spoken by `socket.io-client` 2.x over Engine.IO v3: CONNECT carries no payload, the
    /// client puts its query string in the namespace (`/admin?token=abc`), errors are plain strings.
    V4 = 4,
    /// Protocol v5, spoken by `socket.io-client` 3.x and 4.x: CONNECT carries the auth object and the
    /// server's `{sid, pid}`, errors are `{message, data}`.
    #[default]
    V5 = 5,
}

/// Turns packets into frames and back: what a Socket.IO parser is.
///
/// The server and client hold parsers as `Arc<dyn Parser>`, so custom ones can be plugged in. One
/// [`encode`](Parser::encode) serves every recipient of a broadcast: the frames share their buffers, so
/// cloning them costs no copy.
///
/// ```
/// use socketio_parser::{JsonParser, MsgpackParser, Packet, Parser, Value};
/// use std::sync::Arc;
///
/// let parsers: Vec<Arc<dyn Parser>> = vec![Arc::new(JsonParser::default()), Arc::new(MsgpackParser)];
/// let packet = Packet::event("/", "hello", vec![Value::from(1)]);
/// for parser in parsers {
///     let frames = parser.encode(&packet);
///     let mut decoder = parser.decoder();
///     let decoded = frames.into_iter().find_map(|f| decoder.add(f).unwrap());
///     assert_eq!(decoded, Some(packet.clone()));
/// }
/// ```
pub trait Parser: Send + Sync + fmt::Debug + 'static {
    /// Encodes one packet into the frames that carry it, in order.
    fn encode(&self, packet: &Packet) -> Vec<Frame>;

    /// Encodes one packet as [`encode`](Parser::encode) does, the text of each text frame preceded by
    /// `prefix` (the framing of the transport underneath, such as Engine.IO's message type `4`). The
    /// default copies each text frame once; a parser that writes its text itself writes the prefix
    /// first instead.
    fn encode_with_prefix(&self, packet: &Packet, prefix: &str) -> Vec<Frame> {
        self.encode(packet)
            .into_iter()
            .map(|frame| match frame {
                Frame::Text(text) => {
                    let mut prefixed = String::with_capacity(prefix.len() + text.len());
                    prefixed.push_str(prefix);
                    prefixed.push_str(&text);
                    Frame::Text(prefixed.into())
                }
                binary => binary,
            })
            .collect()
    }

    /// A new stateful decoder, one per connection.
    fn decoder(&self) -> Box<dyn Decoder>;
}

/// Rebuilds packets from the frames of one connection, in arrival order.
pub trait Decoder: Send + fmt::Debug {
    /// Takes the next frame. Returns the packet it completes, or `None` when more frames are needed (the
    /// attachments of a binary packet). After an error the decoder is reset and may be used again.
    fn add(&mut self, frame: Frame) -> Result<Option<Packet>, DecodeError>;

    /// Drops any partly received packet.
    fn reset(&mut self);
}
