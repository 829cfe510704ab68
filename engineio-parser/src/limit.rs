//! [`BodyCollector`]: reading an HTTP request body without ever buffering more than a limit.

use crate::Error;
use bytes::{Bytes, BytesMut};

/// Accumulates an HTTP request body chunk by chunk, refusing it as soon as it grows past a limit, so a
/// server never holds more than the limit in memory for one request.
///
/// A body that arrives in a single chunk is kept as that chunk, without copying.
///
/// ```
/// use bytes::Bytes;
/// use engineio_parser::{BodyCollector, Error};
///
/// let mut body = BodyCollector::new(8);
/// body.check_declared_len(Some(6)).unwrap();
/// body.push_bytes(Bytes::from_static(b"4hel")).unwrap();
/// body.push(b"lo").unwrap();
/// assert_eq!(body.finish(), "4hello");
///
/// let mut body = BodyCollector::new(4);
/// assert_eq!(body.push(b"4hello"), Err(Error::PayloadTooLarge { len: 6, limit: 4 }));
/// ```
#[derive(Debug)]
pub struct BodyCollector {
    limit: usize,
    len: usize,
    buf: Buf,
}

#[derive(Debug)]
enum Buf {
    /// Nothing received yet.
    Empty,
    /// One chunk, kept as it came.
    One(Bytes),
    /// Several chunks, copied together.
    Many(BytesMut),
    /// The limit was exceeded; what had been received is dropped.
    Refused,
}

impl BodyCollector {
    /// A collector that refuses bodies over `limit` bytes.
    pub fn new(limit: usize) -> Self {
        BodyCollector { limit, len: 0, buf: Buf::Empty }
    }

    /// Refuses a declared `Content-Length` over the limit, before anything is read.
    pub fn check_declared_len(&self, content_length: Option<u64>) -> Result<(), Error> {
        match content_length {
            Some(len) if len > self.limit as u64 => {
                Err(Error::PayloadTooLarge { len, limit: self.limit as u64 })
            }
            _ => Ok(()),
        }
    }

    /// Appends a chunk, copying it. Fails with [`Error::PayloadTooLarge`] when the body would exceed the
    /// limit; the collector then drops what it holds and refuses every later chunk, so the caller should
    /// stop reading and answer 413.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.grow(chunk.len())?;
        match &mut self.buf {
            Buf::Many(buf) => buf.extend_from_slice(chunk),
            _ => self.buf = Buf::Many(self.take_and_reserve(chunk)),
        }
        Ok(())
    }

    /// Appends a chunk, keeping it without a copy when it is the first one. Fails like [`BodyCollector::push`].
    pub fn push_bytes(&mut self, chunk: Bytes) -> Result<(), Error> {
        if matches!(self.buf, Buf::Empty) {
            self.grow(chunk.len())?;
            self.buf = Buf::One(chunk);
            Ok(())
        } else {
            self.push(&chunk)
        }
    }

    /// The collected body (empty when it was refused).
    pub fn finish(self) -> Bytes {
        match self.buf {
            Buf::Empty | Buf::Refused => Bytes::new(),
            Buf::One(bytes) => bytes,
            Buf::Many(buf) => buf.freeze(),
        }
    }

    /// Bytes collected so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been collected.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Accounts for `n` more bytes, or refuses the body for good.
    fn grow(&mut self, n: usize) -> Result<(), Error> {
        let len = self.len.saturating_add(n);
        if matches!(self.buf, Buf::Refused) || len > self.limit {
            self.buf = Buf::Refused;
            return Err(Error::PayloadTooLarge { len: len as u64, limit: self.limit as u64 });
        }
        self.len = len;
        Ok(())
    }

    /// A buffer holding what was collected before `chunk` (at most one chunk kept as it came) then `chunk`,
    /// sized for the whole body so far.
    fn take_and_reserve(&mut self, chunk: &[u8]) -> BytesMut {
        let mut buf = BytesMut::with_capacity(self.len);
        if let Buf::One(first) = std::mem::replace(&mut self.buf, Buf::Empty) {
            buf.extend_from_slice(&first);
        }
        buf.extend_from_slice(chunk);
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_chunk_is_not_copied() {
        let chunk = Bytes::from(vec![1u8; 10]);
        let mut body = BodyCollector::new(10);
        body.push_bytes(chunk.clone()).unwrap();
        let out = body.finish();
        assert_eq!(out.as_ptr(), chunk.as_ptr());
    }

    #[test]
    fn chunks_are_joined() {
        let mut body = BodyCollector::new(100);
        assert!(body.is_empty());
        body.push_bytes(Bytes::from_static(b"ab")).unwrap();
        body.push_bytes(Bytes::from_static(b"cd")).unwrap();
        body.push(b"e").unwrap();
        body.push_bytes(Bytes::from_static(b"")).unwrap();
        assert_eq!(body.len(), 5);
        assert_eq!(body.finish(), "abcde");
        let mut body = BodyCollector::new(100);
        body.push(b"x").unwrap();
        body.push_bytes(Bytes::from_static(b"y")).unwrap();
        assert_eq!(body.finish(), "xy");
        assert_eq!(BodyCollector::new(0).finish(), "");
    }

    #[test]
    fn limit_is_enforced_at_the_exact_byte() {
        let mut body = BodyCollector::new(5);
        body.push(b"abc").unwrap();
        body.push_bytes(Bytes::from_static(b"de")).unwrap();
        let err = body.push(b"f");
        assert_eq!(err, Err(Error::PayloadTooLarge { len: 6, limit: 5 }));
        assert_eq!(body.len(), 5);
        assert!(body.push(b"").is_err(), "a refused body stays refused");
        assert_eq!(body.finish(), "");
    }

    #[test]
    fn first_chunk_over_the_limit_is_refused() {
        let mut body = BodyCollector::new(3);
        assert!(body.push_bytes(Bytes::from_static(b"abcd")).is_err());
        assert!(body.is_empty());
    }

    #[test]
    fn declared_length() {
        let body = BodyCollector::new(10);
        assert_eq!(body.check_declared_len(None), Ok(()));
        assert_eq!(body.check_declared_len(Some(10)), Ok(()));
        let err = Err(Error::PayloadTooLarge { len: 11, limit: 10 });
        assert_eq!(body.check_declared_len(Some(11)), err);
        assert_eq!(body.limit(), 10);
    }
}
