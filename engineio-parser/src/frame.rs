//! [`Frame`]: one websocket message, text or binary.

use crate::Str;
use bytes::Bytes;

/// One websocket message as it travels on the wire: a text frame or a binary frame.
///
/// Both variants are cheap to clone, so one encoded frame can be sent to many sessions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Frame {
    /// A text frame (UTF-8).
    Text(Str),
    /// A binary frame.
    Binary(Bytes),
}

impl Frame {
    /// Length of the frame's content in bytes.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame has no content.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a binary frame.
    pub fn is_binary(&self) -> bool {
        matches!(self, Frame::Binary(_))
    }
}

impl From<Str> for Frame {
    fn from(s: Str) -> Self {
        Frame::Text(s)
    }
}

impl From<String> for Frame {
    fn from(s: String) -> Self {
        Frame::Text(s.into())
    }
}

impl From<&str> for Frame {
    fn from(s: &str) -> Self {
        Frame::Text(s.into())
    }
}

impl From<Bytes> for Frame {
    fn from(b: Bytes) -> Self {
        Frame::Binary(b)
    }
}

impl From<Vec<u8>> for Frame {
    fn from(b: Vec<u8>) -> Self {
        Frame::Binary(b.into())
    }
}
