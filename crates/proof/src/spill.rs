//! The model's integer weights in an unlinked temporary file while a one-pass proof opens its
//! witness ([`crate::prove_spilling`]): the witness opening is the proof's peak (SmolLM2: the
//! packed witness, its codeword and Merkle tree, p3's first sumcheck tables), and the weights
//! (2 bytes per matrix entry: 257 MiB for SmolLM2-135M) are not read between the weight block
//! claims and the weight recommitment. They are read back before the weight opening.
//!
//! The file is ours and unlinked at once (nothing is left behind however the process ends), but
//! the read-back is still checked: every byte written is hashed (Blake3) and the read must give
//! the same hash and the same layout, so a changed or truncated file is an error, never other
//! weights. Lengths read back are bounded by the file's size before anything is allocated.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use zkinfer_model::{Model, WeightTensor, WeightValues, Weights};

/// Weights written to an unlinked temporary file, with the hash of the bytes written.
#[derive(Debug)]
pub struct SpilledWeights {
    file: File,
    len: u64,
    hash: [u8; 32],
}

/// A writer that hashes and counts what it writes.
struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what it reads and refuses to read past `limit` bytes.
struct Checked<R> {
    inner: R,
    hasher: blake3::Hasher,
    left: u64,
}

impl<R: Read> Checked<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.exact(&mut b)?;
        Ok(b)
    }
    fn exact(&mut self, out: &mut [u8]) -> std::io::Result<()> {
        if out.len() as u64 > self.left {
            return Err(bad("the spilled weights end early"));
        }
        self.inner.read_exact(out)?;
        self.hasher.update(out);
        self.left -= out.len() as u64;
        Ok(())
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    /// A count of items of `size` bytes each that must still fit in the file.
    fn count(&mut self, size: u64) -> std::io::Result<usize> {
        let n = self.u64()?;
        if n.checked_mul(size).is_none_or(|b| b > self.left) {
            return Err(bad("a length in the spilled weights exceeds the file"));
        }
        usize::try_from(n).map_err(|_| bad("a length in the spilled weights does not fit in memory"))
    }
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

/// Values per buffered conversion (1 MiB of i64).
const CHUNK: usize = 1 << 17;

impl SpilledWeights {
    /// Writes every tensor of `weights` (name order) to a new unlinked file in the temporary
    /// directory.
    pub fn write(weights: &Weights) -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("zkinfer-weights-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
        // Unlinked at once: nothing is left behind, whatever happens next.
        std::fs::remove_file(&path)?;
        let mut w = Hashing { inner: BufWriter::with_capacity(1 << 20, file.try_clone()?), hasher: blake3::Hasher::new(), len: 0 };
        let tensors: Vec<(&str, &WeightTensor)> = weights.iter().collect();
        w.write_all(&(tensors.len() as u64).to_le_bytes())?;
        let mut buf = Vec::with_capacity(CHUNK * 8);
        for (name, t) in tensors {
            w.write_all(&(name.len() as u64).to_le_bytes())?;
            w.write_all(name.as_bytes())?;
            w.write_all(&(t.shape.len() as u64).to_le_bytes())?;
            for &d in &t.shape {
                w.write_all(&(d as u64).to_le_bytes())?;
            }
            w.write_all(&t.frac_bits.to_le_bytes())?;
            match &t.values {
                WeightValues::I16(v) => {
                    w.write_all(&[0u8])?;
                    w.write_all(&(v.len() as u64).to_le_bytes())?;
                    for chunk in v.chunks(CHUNK) {
                        buf.clear();
                        buf.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
                        w.write_all(&buf)?;
                    }
                }
                WeightValues::I64(v) => {
                    w.write_all(&[1u8])?;
                    w.write_all(&(v.len() as u64).to_le_bytes())?;
                    for chunk in v.chunks(CHUNK) {
                        buf.clear();
                        buf.extend(chunk.iter().flat_map(|x| x.to_le_bytes()));
                        w.write_all(&buf)?;
                    }
                }
            }
        }
        w.flush()?;
        let (len, hash) = (w.len, *w.hasher.finalize().as_bytes());
        Ok(Self { file, len, hash })
    }

    /// Reads the weights back; an error if the file no longer holds exactly what was written.
    pub fn read(mut self) -> std::io::Result<Weights> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut r = Checked { inner: BufReader::with_capacity(1 << 20, &self.file), hasher: blake3::Hasher::new(), left: self.len };
        let mut weights = Weights::default();
        let count = r.count(8)?;
        let mut buf = vec![0u8; CHUNK * 8];
        for _ in 0..count {
            let name_len = r.count(1)?;
            let mut name = vec![0u8; name_len];
            r.exact(&mut name)?;
            let name = String::from_utf8(name).map_err(|_| bad("a spilled tensor name is not UTF-8"))?;
            let ndim = r.count(8)?;
            let mut shape = Vec::with_capacity(ndim);
            for _ in 0..ndim {
                shape.push(usize::try_from(r.u64()?).map_err(|_| bad("a spilled dimension does not fit"))?);
            }
            let frac_bits = i32::from_le_bytes(r.bytes()?);
            let [tag] = r.bytes::<1>()?;
            let values = match tag {
                0 => {
                    let n = r.count(2)?;
                    let mut v = Vec::with_capacity(n);
                    while v.len() < n {
                        let k = (n - v.len()).min(CHUNK);
                        r.exact(&mut buf[..2 * k])?;
                        v.extend(buf[..2 * k].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
                    }
                    WeightValues::I16(v)
                }
                1 => {
                    let n = r.count(8)?;
                    let mut v = Vec::with_capacity(n);
                    while v.len() < n {
                        let k = (n - v.len()).min(CHUNK);
                        r.exact(&mut buf[..8 * k])?;
                        v.extend(buf[..8 * k].chunks_exact(8).map(|b| {
                            let mut word = [0u8; 8];
                            word.copy_from_slice(b);
                            i64::from_le_bytes(word)
                        }));
                    }
                    WeightValues::I64(v)
                }
                _ => return Err(bad("unknown value type in the spilled weights")),
            };
            weights.insert(name, WeightTensor { shape, frac_bits, values });
        }
        if r.left != 0 || *r.hasher.finalize().as_bytes() != self.hash {
            return Err(bad("the spilled weights changed on disk"));
        }
        Ok(weights)
    }

    /// Moves `model`'s weights to a spill file; `None` (the weights stay in the model) if no
    /// temporary file can be written.
    pub fn take_from(model: &mut Model) -> Option<Self> {
        let weights = model.take_weights();
        match Self::write(&weights) {
            Ok(spilled) => Some(spilled),
            Err(_) => {
                model.restore_weights(weights);
                None
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    fn weights() -> Weights {
        let mut w = Weights::default();
        w.insert("b.matrix", WeightTensor { shape: vec![3, 5], frac_bits: 7, values: WeightValues::I16((0..15).map(|i| (i * 2311 - 17_000) as i16).collect()) });
        w.insert("a.norm", WeightTensor { shape: vec![4], frac_bits: -2, values: WeightValues::I64(vec![i64::MIN, -1, 0, i64::MAX]) });
        // Longer than one conversion chunk.
        w.insert("c.big", WeightTensor { shape: vec![CHUNK + 3], frac_bits: 0, values: WeightValues::I16((0..CHUNK + 3).map(|i| i as i16).collect()) });
        w.insert("d.empty", WeightTensor { shape: vec![0], frac_bits: 1, values: WeightValues::I64(vec![]) });
        w
    }

    fn same(a: &Weights, b: &Weights) -> bool {
        a.iter().count() == b.iter().count() && a.iter().zip(b.iter()).all(|(x, y)| x == y) && a.metas() == b.metas()
    }

    #[test]
    fn spilled_weights_read_back_equal() {
        let w = weights();
        let back = SpilledWeights::write(&w).expect("write").read().expect("read");
        assert!(same(&w, &back));
    }

    /// A changed byte anywhere (a value, a length, the name) or a truncated or extended file is
    /// an error, not other weights; the control (an unchanged file) reads back.
    #[test]
    fn a_changed_spill_file_is_refused() {
        let w = weights();
        let len = SpilledWeights::write(&w).expect("write").len;
        for at in [0, 9, 20, len / 2, len - 1] {
            let mut s = SpilledWeights::write(&w).expect("write");
            let mut b = [0u8; 1];
            s.file.seek(SeekFrom::Start(at)).unwrap();
            s.file.read_exact(&mut b).unwrap();
            s.file.seek(SeekFrom::Start(at)).unwrap();
            s.file.write_all(&[b[0] ^ 0x10]).unwrap();
            assert!(s.read().is_err(), "byte {at} flipped");
        }
        let s = SpilledWeights::write(&w).expect("write");
        s.file.set_len(len - 1).unwrap();
        assert!(s.read().is_err(), "truncated");
        let mut s = SpilledWeights::write(&w).expect("write");
        s.file.seek(SeekFrom::End(0)).unwrap();
        s.file.write_all(&[0]).unwrap();
        // The extra byte is past the recorded length: still the same weights (and the hash).
        assert!(same(&w, &s.read().expect("read")));
        // A huge length is refused before any allocation.
        let mut s = SpilledWeights::write(&w).expect("write");
        s.file.seek(SeekFrom::Start(0)).unwrap();
        s.file.write_all(&u64::MAX.to_le_bytes()).unwrap();
        assert!(s.read().is_err());
        // Control: unchanged.
        assert!(same(&w, &SpilledWeights::write(&w).expect("write").read().expect("read")));
    }
}
