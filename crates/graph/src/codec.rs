//! A small, strict binary codec for key and proof files.
//!
//! Little-endian fixed-width integers and length-prefixed sequences. The reader never trusts a
//! length: every length is checked against the bytes that remain *before* anything is allocated,
//! and [`Reader::finish`] rejects trailing bytes, so a file decodes in exactly one way.

use thiserror::Error;

/// Why a file could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The file ended while `what` was being read.
    #[error("truncated: the file ends inside {what}")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// A length field claims more items than the file can hold.
    #[error("{what}: length {len} exceeds what the remaining {remaining} bytes can hold (truncated or corrupt file)")]
    LengthTooLarge {
        /// The field being read.
        what: &'static str,
        /// The claimed length.
        len: u64,
        /// Bytes left in the file.
        remaining: usize,
    },
    /// Bytes are left after the last field.
    #[error("{0} unexpected trailing bytes after the end of the file")]
    TrailingBytes(usize),
    /// The file does not start with the expected magic bytes.
    #[error("not a {expected} file (bad magic bytes)")]
    BadMagic {
        /// What kind of file was expected.
        expected: &'static str,
    },
    /// The format version is not one this build reads.
    #[error("unsupported {what} format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// What kind of file.
        what: &'static str,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// A field holds a value that is not allowed.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// What is wrong with it.
        why: String,
    },
}

/// Appends fields to a byte buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// Raw bytes, no length prefix.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// A `u32`, little-endian.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A `u64`, little-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Length-prefixed (`u64`) bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.raw(b);
    }
    /// Length-prefixed (`u32`) UTF-8 string.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.raw(s.as_bytes());
    }
    /// Length-prefixed (`u32`) list of `u32`.
    pub fn u32s(&mut self, v: &[u32]) {
        self.u32(v.len() as u32);
        for &x in v {
            self.u32(x);
        }
    }
    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields from a byte slice, checking every length against what remains.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }
    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
    /// Exactly `n` raw bytes.
    pub fn raw(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated { what });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
    /// A fixed-size array of raw bytes.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.raw(N, what)?);
        Ok(out)
    }
    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.raw(1, what)?[0])
    }
    /// A little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    /// A little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    /// Checks that `len` items of `item_size` bytes fit in what remains, and returns `len`.
    fn checked_len(&self, len: u64, item_size: usize, what: &'static str) -> Result<usize, DecodeError> {
        let remaining = self.remaining();
        let fits = (len as u128) * (item_size as u128) <= remaining as u128;
        if !fits {
            return Err(DecodeError::LengthTooLarge { what, len, remaining });
        }
        Ok(len as usize)
    }
    /// Length-prefixed (`u64`) bytes.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u64(what)?;
        let n = self.checked_len(len, 1, what)?;
        self.raw(n, what)
    }
    /// Length-prefixed (`u32`) UTF-8 string.
    pub fn str(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let len = self.u32(what)?;
        let n = self.checked_len(len as u64, 1, what)?;
        let b = self.raw(n, what)?;
        std::str::from_utf8(b).map_err(|e| DecodeError::Invalid { what, why: e.to_string() })
    }
    /// Length-prefixed (`u32`) list of `u32`.
    pub fn u32s(&mut self, what: &'static str) -> Result<Vec<u32>, DecodeError> {
        let len = self.u32(what)?;
        let n = self.checked_len(len as u64, 4, what)?;
        (0..n).map(|_| self.u32(what)).collect()
    }
    /// Magic bytes and a format version, both checked.
    pub fn header(
        &mut self,
        magic: &[u8; 8],
        version: u32,
        what: &'static str,
    ) -> Result<(), DecodeError> {
        let m = self.raw(8, what).map_err(|_| DecodeError::BadMagic { expected: what })?;
        if m != magic {
            return Err(DecodeError::BadMagic { expected: what });
        }
        let found = self.u32("format version")?;
        if found != version {
            return Err(DecodeError::UnsupportedVersion { what, found, supported: version });
        }
        Ok(())
    }
    /// Succeeds only if every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(b"TESTFILE");
        w.u32(3);
        w.str("héllo");
        w.u32s(&[1, 2, 50256]);
        w.bytes(&[9; 17]);
        w.u64(u64::MAX);
        w.into_bytes()
    }

    fn read(b: &[u8]) -> Result<(String, Vec<u32>, Vec<u8>, u64), DecodeError> {
        let mut r = Reader::new(b);
        r.header(b"TESTFILE", 3, "test")?;
        let s = r.str("s")?.to_owned();
        let ids = r.u32s("ids")?;
        let by = r.bytes("b")?.to_vec();
        let x = r.u64("x")?;
        r.finish()?;
        Ok((s, ids, by, x))
    }

    #[test]
    fn round_trip() {
        let (s, ids, by, x) = read(&sample()).unwrap();
        assert_eq!(s, "héllo");
        assert_eq!(ids, vec![1, 2, 50256]);
        assert_eq!(by, vec![9; 17]);
        assert_eq!(x, u64::MAX);
    }

    #[test]
    fn every_truncation_and_extension_is_rejected() {
        let b = sample();
        for n in 0..b.len() {
            assert!(read(&b[..n]).is_err(), "truncation to {n} bytes accepted");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(read(&longer), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn wrong_magic_and_version_are_named() {
        let mut b = sample();
        b[0] ^= 1;
        assert_eq!(read(&b), Err(DecodeError::BadMagic { expected: "test" }));
        let mut b = sample();
        b[8] = 4;
        assert!(matches!(read(&b), Err(DecodeError::UnsupportedVersion { found: 4, .. })));
    }

    #[test]
    fn huge_length_does_not_allocate() {
        let mut w = Writer::new();
        w.u32(u32::MAX);
        let b = w.into_bytes();
        let mut r = Reader::new(&b);
        assert!(matches!(r.u32s("ids"), Err(DecodeError::LengthTooLarge { .. })));
        let mut w = Writer::new();
        w.u64(u64::MAX);
        let b = w.into_bytes();
        let mut r = Reader::new(&b);
        assert!(matches!(r.bytes("blob"), Err(DecodeError::LengthTooLarge { .. })));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = read(&b);
        }
    }
}
