//! [`Str`]: an immutable, cheaply clonable UTF-8 string backed by [`Bytes`].

use bytes::Bytes;
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::Utf8Error;

/// An immutable UTF-8 string that shares its storage: cloning and slicing are O(1) and never copy.
///
/// Text that arrives in a polling body or a websocket frame is decoded into `Str` slices of the original
/// buffer, and one encoded packet can be handed to many sessions by cloning it.
///
/// ```
/// use engineio_parser::Str;
/// let s = Str::from("hello world");
/// let hello = s.slice(0..5);
/// assert_eq!(hello, "hello");
/// assert_eq!(hello.as_bytes().len(), 5);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str(Bytes);

impl Str {
    /// An empty string.
    pub const fn new() -> Self {
        Str(Bytes::new())
    }

    /// A string from a `'static` literal, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    /// Checks that `bytes` is UTF-8 and wraps it without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Str(bytes))
    }

    /// The string as `&str`.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor either validates the bytes as UTF-8 or takes them from a `str`/`String`,
        // and `slice` only cuts at char boundaries (checked), so the buffer is always valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes (UTF-8).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives back the underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A sub-string sharing this one's storage.
    ///
    /// # Panics
    /// When the range is out of bounds or does not fall on char boundaries, like `&s[range]`.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        // Indexing the str checks bounds and char boundaries with the usual panic message.
        let _ = &self.as_str()[range.clone()];
        Str(self.0.slice(range))
    }

    /// The string from byte `from` on, taking over this one's storage: unlike a slice it neither
    /// shares nor copies the buffer. `None` when `from` is out of bounds or not on a char boundary.
    ///
    /// ```
    /// use engineio_parser::Str;
    /// assert_eq!(Str::from("4hello").into_suffix(1).unwrap(), "hello");
    /// ```
    pub fn into_suffix(mut self, from: usize) -> Option<Self> {
        self.as_str().get(from..)?;
        bytes::Buf::advance(&mut self.0, from);
        Some(self)
    }

    /// Like [`Str::slice`] but returns `None` instead of panicking.
    pub fn get(&self, range: std::ops::Range<usize>) -> Option<Self> {
        self.as_str().get(range.clone())?;
        Some(Str(self.0.slice(range)))
    }

    /// The sub-string `sub` (which must point into this string's buffer) as a shared slice; `None` when it
    /// does not lie inside this string.
    pub fn slice_ref(&self, sub: &str) -> Option<Self> {
        let base = self.0.as_ptr() as usize;
        let start = (sub.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(sub.len())?;
        if end > self.0.len() {
            return None;
        }
        self.get(start..end)
    }
}

/// Hashes as `str` does, so that a `Str` key can be looked up with a `&str` (the `Borrow<str>` contract).
impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Str {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Bytes::from(s.into_bytes()))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Str> for Bytes {
    fn from(s: Str) -> Bytes {
        s.0
    }
}

impl From<Str> for String {
    fn from(s: Str) -> String {
        s.as_str().to_owned()
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Str {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Str> for str {
    fn eq(&self, other: &Str) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Str> for &str {
    fn eq(&self, other: &Str) -> bool {
        *self == other.as_str()
    }
}

impl serde::Serialize for Str {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Str::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_utf8_rejects_invalid_bytes() {
        assert!(Str::from_utf8(Bytes::from_static(b"\xff\xfe")).is_err());
        assert_eq!(Str::from_utf8(Bytes::from_static("é".as_bytes())).unwrap(), "é");
    }

    #[test]
    fn slices_share_storage() {
        let s = Str::from("héllo");
        let tail = s.slice(3..6);
        assert_eq!(tail, "llo");
        assert_eq!(s.as_bytes().as_ptr().wrapping_add(3), tail.as_bytes().as_ptr());
        assert!(s.get(0..2).is_none(), "cutting inside 'é' is refused");
        let sub = &s.as_str()[1..3];
        assert_eq!(s.slice_ref(sub).unwrap(), "é");
        assert!(s.slice_ref("elsewhere").is_none());
    }

    #[test]
    fn str_keys_are_found_by_str() {
        let mut map = std::collections::HashMap::new();
        map.insert(Str::from("sid"), 1);
        assert_eq!(map.get("sid"), Some(&1));
    }

    #[test]
    #[should_panic]
    fn slice_inside_a_char_panics() {
        let _ = Str::from("é").slice(0..1);
    }
}
