//! The process allocator: mimalloc for ordinary blocks, a reuse cache of mapped pages for large
//! ones.
//!
//! **Why.** A proof touches tens of gigabytes of fresh pages (codewords, packed polynomials, GKR
//! layers, sumcheck tables: each allocated, filled, freed), and every first touch of a fresh
//! 4 KiB page is a page fault. On this kind of machine (a VM) a fault costs far more than zeroing
//! the page: `perf` on GPT-2 small `--tokens 32` put 23 % of all samples in the kernel, only
//! 1.6 % of them in `clear_page_erms` (docs/BENCHMARKS.md, "Prove time: page faults and
//! reused large blocks"). Transparent huge pages do not help here: a fresh 2 MiB page costs the VM far more
//! to zero (41 % of all samples in `clear_page_erms`, system time doubled; same section).
//!
//! **What.** A block of at least [`LARGE`] bytes (alignment ≤ 4 KiB) is a range of an anonymous
//! mapping. A freed large block is not unmapped at once: its range goes into a small table of
//! free ranges (its pages stay resident, merged with free neighbours), and a later large
//! allocation is carved from the smallest free range that holds it — memory the process has
//! already faulted in, reused without a system call (`alloc_zeroed` zeroes it in user space, far
//! cheaper here than a fault). Everything smaller goes to mimalloc (built with its `no_thp`
//! feature, see `main.rs`).
//!
//! **Memory: the peak does not grow.** Let `live` be the bytes of live blocks (small and large),
//! `kept` the bytes in free ranges and `high` the most `live` has ever been. The allocator keeps
//! `live + kept ≤ high`: freeing or carving a large block moves bytes between `live` and `kept`;
//! any allocation that raises `live` with fresh memory (a small block, a large block no free range
//! holds, a large block's growth) first unmaps free ranges — tails first, plus [`RELEASE_SLACK`]
//! so that small blocks do not unmap page by page — until the sum is back under `high`. Kept
//! ranges therefore never make the process hold more than the most bytes its own blocks needed at
//! once, which is what it held at its peak without the table (allocator overheads aside, as
//! before). Ranges are also unmapped after [`KEEP_FOR`] unused (checked at each large allocation
//! or free), beyond [`MAX_KEPT`] bytes and when the table is full, so a long-running `serve`
//! process gives memory back.
//!
//! **Safety.** The [`GlobalAlloc`] contract: `dealloc` and `realloc` receive the layout the block
//! was allocated with (for `realloc`, `new_size` becomes its size). Which allocator owns a block
//! is a function of `(size, align)` alone ([`is_large`]), so every block is freed by the one that
//! made it, and a large block spans exactly [`span`]`(size)` bytes of mapped memory, which it
//! owns alone until freed. The table is a fixed array behind a mutex (no allocation inside the
//! allocator); ranges in it are owned by the table and disjoint from every live block. Mappings
//! are private and anonymous; a reused range is zeroed by `alloc_zeroed` before it is returned; a
//! failed `mmap` returns null (the standard library's allocation-error path, as for any
//! allocator).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::{self, null_mut};
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use mimalloc::MiMalloc;

/// The page size large blocks are rounded to (checked against the system's at first use: on a
/// system with other pages every block goes to mimalloc).
const PAGE: usize = 4096;

/// Blocks of at least this many bytes are large (mapped and reused here); smaller ones are
/// mimalloc's.
pub const LARGE: usize = 1 << 20;

/// A free range unused this long is unmapped at the next large allocation or free.
pub const KEEP_FOR: Duration = Duration::from_secs(30);

/// At most this many bytes are kept in free ranges (older ranges are unmapped first).
pub const MAX_KEPT: usize = 4 << 30;

/// [`KEEP_FOR`], or `ZKINFER_ALLOC_KEEP_MS` milliseconds (read once, for measurements).
fn keep_for() -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static MS: AtomicU64 = AtomicU64::new(u64::MAX);
    let mut ms = MS.load(Ordering::Relaxed);
    if ms == u64::MAX {
        ms = KEEP_FOR.as_millis() as u64;
        // SAFETY: a NUL-terminated name; `getenv` returns null or a NUL-terminated string that
        // is read at once (nothing in this process changes the environment while proving).
        let value = unsafe { libc::getenv(c"ZKINFER_ALLOC_KEEP_MS".as_ptr()) };
        if !value.is_null() {
            // SAFETY: as above.
            let bytes = unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes();
            if let Some(v) = std::str::from_utf8(bytes).ok().and_then(|t| t.parse::<u64>().ok()) {
                ms = v.min(u64::MAX - 1);
            }
        }
        MS.store(ms, Ordering::Relaxed);
    }
    Duration::from_millis(ms)
}

/// Extra bytes [`Kept::release`] unmaps beyond what it must.
const RELEASE_SLACK: usize = 16 << 20;

/// Free ranges the table holds.
const SLOTS: usize = 512;

/// Counters of the large-block path, printed by [`report`] (`ZKINFER_ALLOC_STATS=1`).
pub mod stats {
    use std::sync::atomic::AtomicU64;
    pub static ALLOCS: AtomicU64 = AtomicU64::new(0);
    pub static ALLOC_BYTES: AtomicU64 = AtomicU64::new(0);
    pub static REUSED: AtomicU64 = AtomicU64::new(0);
    pub static REUSED_BYTES: AtomicU64 = AtomicU64::new(0);
    pub static RELEASED_BYTES: AtomicU64 = AtomicU64::new(0);
    pub static EXPIRED_BYTES: AtomicU64 = AtomicU64::new(0);
    pub static REALLOCS: AtomicU64 = AtomicU64::new(0);
}

fn bump(counter: &std::sync::atomic::AtomicU64, by: u64) {
    counter.fetch_add(by, std::sync::atomic::Ordering::Relaxed);
}

/// One line of the large-block counters (for `ZKINFER_ALLOC_STATS=1`).
pub fn report() -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let g = |c: &std::sync::atomic::AtomicU64| c.load(Relaxed);
    format!(
        "large blocks: {} allocated ({} B), {} reused ({} B), released for misses {} B, expired {} B, {} reallocs",
        g(&stats::ALLOCS),
        g(&stats::ALLOC_BYTES),
        g(&stats::REUSED),
        g(&stats::REUSED_BYTES),
        g(&stats::RELEASED_BYTES),
        g(&stats::EXPIRED_BYTES),
        g(&stats::REALLOCS)
    )
}

/// The allocator of the `zkinfer` binary (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

/// One free range: `len` bytes at `addr`, free since `since`.
#[derive(Clone, Copy)]
struct Range {
    addr: usize,
    len: usize,
    since: Instant,
}

/// The free ranges ([`KEPT_BYTES`] bytes in all; changed only under the lock).
struct Kept {
    ranges: [Option<Range>; SLOTS],
}

static KEPT: Mutex<Kept> = Mutex::new(Kept { ranges: [None; SLOTS] });

/// Bytes in free ranges.
static KEPT_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Bytes of live blocks, small and large (a large block counted as its [`span`]).
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most [`LIVE`] has been.
static HIGH: AtomicUsize = AtomicUsize::new(0);

/// Adds `by` live bytes; returns `(live, high)` after it.
fn add_live(by: usize) -> (usize, usize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    let high = HIGH.fetch_max(live, Relaxed).max(live);
    (live, high)
}

/// A small block of `by` bytes became live: if live + kept bytes would now pass the most live
/// bytes ever, free ranges go first (the bound on `M`, module doc).
fn small_grew(by: usize) {
    let (live, high) = add_live(by);
    if live + KEPT_BYTES.load(Relaxed) > high {
        let mut kept = Kept::lock();
        let excess = (LIVE.load(Relaxed) + KEPT_BYTES.load(Relaxed)).saturating_sub(HIGH.load(Relaxed));
        kept.release(excess);
    }
}

/// 0: not checked yet; 1: the system page is [`PAGE`]; 2: it is not (everything to mimalloc).
static PAGE_OK: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

fn page_ok() -> bool {
    use std::sync::atomic::Ordering;
    match PAGE_OK.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            // SAFETY: `sysconf` has no preconditions.
            let ok = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } == PAGE as libc::c_long;
            PAGE_OK.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
            ok
        }
    }
}

/// Whether a block of this layout is a large block (else a mimalloc block).
#[inline]
fn is_large(size: usize, align: usize) -> bool {
    size >= LARGE && align <= PAGE && page_ok()
}

/// Bytes of mapped memory a large block of `size` bytes spans (whole pages; `size` ≥ [`LARGE`]
/// is far below `usize::MAX`, since a layout's size is at most `isize::MAX`).
#[inline]
fn span(size: usize) -> usize {
    (size + PAGE - 1) & !(PAGE - 1)
}

/// Unmaps `len` bytes at `addr`.
///
/// # Safety
/// The range must be owned by the caller (a free range taken out of the table, or a block).
unsafe fn unmap(addr: usize, len: usize) {
    // SAFETY: the caller's contract.
    unsafe {
        libc::munmap(addr as *mut libc::c_void, len);
    }
}

impl Kept {
    fn lock() -> std::sync::MutexGuard<'static, Kept> {
        KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Unmaps ranges free for longer than [`KEEP_FOR`].
    fn expire(&mut self, now: Instant) {
        for slot in self.ranges.iter_mut() {
            if let Some(r) = *slot
                && now.duration_since(r.since) >= keep_for()
            {
                *slot = None;
                KEPT_BYTES.fetch_sub(r.len, Relaxed);
                bump(&stats::EXPIRED_BYTES, r.len as u64);
                // SAFETY: the range was the table's, now taken out of it.
                unsafe { unmap(r.addr, r.len) };
            }
        }
    }

    /// Takes `len` bytes from the smallest free range that holds them (the rest stays free).
    fn carve(&mut self, len: usize) -> Option<usize> {
        let best = self
            .ranges
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.filter(|r| r.len >= len).map(|r| (r.len, i)))
            .min()?
            .1;
        let r = self.ranges[best]?;
        KEPT_BYTES.fetch_sub(len, Relaxed);
        self.ranges[best] = (r.len > len).then_some(Range { addr: r.addr + len, len: r.len - len, since: r.since });
        Some(r.addr)
    }

    /// Unmaps at least `need` bytes of free ranges (plus [`RELEASE_SLACK`], so that a run of
    /// small allocations does not unmap page by page), or all of them: the tail of the smallest
    /// range longer than what is still needed, else whole ranges, largest first.
    fn release(&mut self, need: usize) {
        if need == 0 {
            return;
        }
        let mut rest = span(need.saturating_add(RELEASE_SLACK).min(isize::MAX as usize));
        while rest > 0 {
            let sizes = || self.ranges.iter().enumerate().filter_map(|(i, r)| r.map(|r| (r.len, i)));
            let Some((_, i)) = sizes().filter(|&(len, _)| len > rest).min().or_else(|| sizes().max()) else {
                break;
            };
            let Some(r) = self.ranges[i] else { break };
            let (addr, len) = if r.len > rest {
                self.ranges[i] = Some(Range { len: r.len - rest, ..r });
                (r.addr + r.len - rest, rest)
            } else {
                self.ranges[i] = None;
                (r.addr, r.len)
            };
            KEPT_BYTES.fetch_sub(len, Relaxed);
            rest -= len;
            bump(&stats::RELEASED_BYTES, len as u64);
            // SAFETY: the range (or its tail) was the table's, now taken out of it.
            unsafe { unmap(addr, len) };
        }
    }

    /// Unmaps the range that has been free longest.
    fn release_oldest(&mut self) {
        let oldest = self.ranges.iter().enumerate().filter_map(|(i, r)| r.map(|r| (r.since, i))).min();
        if let Some((_, i)) = oldest
            && let Some(r) = self.ranges[i].take()
        {
            KEPT_BYTES.fetch_sub(r.len, Relaxed);
            // SAFETY: the range was the table's, now taken out of it.
            unsafe { unmap(r.addr, r.len) };
        }
    }

    /// Adds a freed range (merged with free neighbours), keeping the table within its limits.
    fn insert(&mut self, mut addr: usize, mut len: usize, now: Instant) {
        for slot in self.ranges.iter_mut() {
            if let Some(r) = *slot
                && (r.addr + r.len == addr || addr + len == r.addr)
            {
                *slot = None;
                KEPT_BYTES.fetch_sub(r.len, Relaxed);
                addr = addr.min(r.addr);
                len += r.len;
            }
        }
        while KEPT_BYTES.load(Relaxed) + len > MAX_KEPT && KEPT_BYTES.load(Relaxed) > 0 {
            self.release_oldest();
        }
        if len > MAX_KEPT {
            // SAFETY: the range is the caller's freed block.
            unsafe { unmap(addr, len) };
            return;
        }
        if !self.ranges.iter().any(Option::is_none) {
            self.release_oldest();
        }
        if let Some(slot) = self.ranges.iter_mut().find(|r| r.is_none()) {
            *slot = Some(Range { addr, len, since: now });
            KEPT_BYTES.fetch_add(len, Relaxed);
        }
    }
}

/// A large block of `size` bytes: carved from a free range (zeroed first if `zero`), or freshly
/// mapped (zero already). Null if the system refuses.
fn alloc_large(size: usize, zero: bool) -> *mut u8 {
    let len = span(size);
    let now = Instant::now();
    bump(&stats::ALLOCS, 1);
    bump(&stats::ALLOC_BYTES, len as u64);
    {
        let mut kept = Kept::lock();
        kept.expire(now);
        if let Some(addr) = kept.carve(len) {
            add_live(len);
            drop(kept);
            bump(&stats::REUSED, 1);
            bump(&stats::REUSED_BYTES, len as u64);
            if zero {
                // SAFETY: the range `[addr, addr + len)` is now this block's alone.
                unsafe { ptr::write_bytes(addr as *mut u8, 0, size) };
            }
            return addr as *mut u8;
        }
        // Fresh memory: free ranges go first, as far as live + kept would pass the most live.
        let (live, high) = add_live(len);
        kept.release((live + KEPT_BYTES.load(Relaxed)).saturating_sub(high));
    }
    // Populated at once (`MAP_POPULATE`): the prover often reads a fresh zeroed buffer before it
    // writes it (accumulations), and a page first read maps the shared zero page, so its first
    // write faults again (copy-on-write) and flushes the TLB of the other cores by IPI. `perf` on
    // SmolLM2 put ≈ 16 % of all samples there (`do_wp_page` → `flush_tlb_mm_range`); populating
    // took the quiet run's system time from 77.8 to 30.4 s and prove from 131.7 to 123.2 s, peak
    // 8 206 430 208 → 8 203 702 272 B (docs/BENCHMARKS.md). The pages are charged when mapped, not
    // when touched: a large block is live memory in the peak rule either way.
    // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE, -1, 0)
    };
    if p == libc::MAP_FAILED {
        LIVE.fetch_sub(len, Relaxed);
        return null_mut();
    }
    p as *mut u8
}

/// Frees a large block of `size` bytes at `ptr` into the table of free ranges.
fn free_large(ptr: *mut u8, size: usize) {
    let now = Instant::now();
    let mut kept = Kept::lock();
    LIVE.fetch_sub(span(size), Relaxed);
    kept.expire(now);
    kept.insert(ptr as usize, span(size), now);
}

/// Resizes a large block to another large size: a shrink frees the tail; a growth moves the
/// pages with `mremap` (no copy), or copies into a new block if the kernel refuses. Null (the old
/// block untouched) on failure.
///
/// # Safety
/// `ptr` must be a large block of `old` bytes; `new` must be large too.
unsafe fn realloc_large(ptr: *mut u8, old: usize, new: usize) -> *mut u8 {
    let (old_len, new_len) = (span(old), span(new));
    bump(&stats::REALLOCS, 1);
    if new_len <= old_len {
        if new_len < old_len {
            // The tail `[ptr + new_len, ptr + old_len)` leaves the block.
            let mut kept = Kept::lock();
            LIVE.fetch_sub(old_len - new_len, Relaxed);
            kept.insert(ptr as usize + new_len, old_len - new_len, Instant::now());
        }
        return ptr;
    }
    // The growth is fresh memory: free ranges go first, as for a fresh block.
    {
        let mut kept = Kept::lock();
        let (live, high) = add_live(new_len - old_len);
        kept.release((live + KEPT_BYTES.load(Relaxed)).saturating_sub(high));
    }
    // SAFETY: `[ptr, ptr + old_len)` is this block's; the kernel moves or extends it.
    let moved = unsafe { libc::mremap(ptr as *mut libc::c_void, old_len, new_len, libc::MREMAP_MAYMOVE) };
    if moved != libc::MAP_FAILED {
        return moved as *mut u8;
    }
    LIVE.fetch_sub(new_len - old_len, Relaxed);
    // A block carved across two merged free ranges may span two mappings: copy instead.
    let fresh = alloc_large(new, false);
    if !fresh.is_null() {
        // SAFETY: both blocks are valid for `old` bytes and disjoint; the old block is freed.
        unsafe { ptr::copy_nonoverlapping(ptr, fresh, old) };
        free_large(ptr, old);
    }
    fresh
}

// SAFETY: see the module doc: each block is freed and resized by the allocator that made it,
// with its own size; mimalloc's half is the `MiMalloc` implementation unchanged.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            alloc_large(layout.size(), false)
        } else {
            // SAFETY: the caller's layout contract, forwarded.
            let p = unsafe { MiMalloc.alloc(layout) };
            if !p.is_null() {
                small_grew(layout.size());
            }
            p
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            alloc_large(layout.size(), true)
        } else {
            // SAFETY: the caller's layout contract, forwarded.
            let p = unsafe { MiMalloc.alloc_zeroed(layout) };
            if !p.is_null() {
                small_grew(layout.size());
            }
            p
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(layout.size(), layout.align()) {
            free_large(ptr, layout.size());
        } else {
            LIVE.fetch_sub(layout.size(), Relaxed);
            // SAFETY: a block of this layout was made by mimalloc.
            unsafe { MiMalloc.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        let old_size = layout.size();
        match (is_large(old_size, align), is_large(new_size, align)) {
            (false, false) => {
                // SAFETY: the caller's contract, forwarded to mimalloc, which made the block.
                let p = unsafe { MiMalloc.realloc(ptr, layout, new_size) };
                if !p.is_null() {
                    if new_size >= old_size {
                        small_grew(new_size - old_size);
                    } else {
                        LIVE.fetch_sub(old_size - new_size, Relaxed);
                    }
                }
                p
            }
            // SAFETY: `ptr` is a large block of `old_size` bytes.
            (true, true) => unsafe { realloc_large(ptr, old_size, new_size) },
            _ => {
                // Crossing the threshold: a new block from the other allocator, then a copy.
                // SAFETY: `new_size` is nonzero (the caller's contract) and `align` is the
                // block's valid alignment.
                let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, align) };
                // SAFETY: a valid nonzero layout.
                let fresh = unsafe { self.alloc(new_layout) };
                if !fresh.is_null() {
                    // SAFETY: both blocks are valid for the smaller size and disjoint; the old
                    // block is freed by the allocator that made it.
                    unsafe {
                        ptr::copy_nonoverlapping(ptr, fresh, old_size.min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                fresh
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serialises the tests: they share the table of free ranges.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fill(p: *mut u8, len: usize, seed: u8) {
        for i in (0..len).step_by(4093) {
            // SAFETY: `i < len`, inside the block.
            unsafe { *p.add(i) = (i as u8).wrapping_add(seed) };
        }
    }

    fn check(p: *const u8, len: usize, seed: u8) {
        for i in (0..len).step_by(4093) {
            // SAFETY: `i < len`, inside the block.
            assert_eq!(unsafe { *p.add(i) }, (i as u8).wrapping_add(seed), "byte {i}");
        }
    }

    fn kept_bytes() -> usize {
        KEPT_BYTES.load(Relaxed)
    }

    fn minor_faults() -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
        // Field 10 (minflt), counted after the parenthesised command name.
        let rest = stat.rsplit_once(')').expect("stat format").1;
        rest.split_whitespace().nth(7).expect("minflt").parse().expect("number")
    }

    #[test]
    fn a_freed_large_block_is_reused_without_faults_and_zeroed_when_asked() {
        let _guard = serial();
        let a = Allocator;
        let size = 64 << 20;
        let layout = Layout::from_size_align(size, 64).expect("layout");
        // Room below the most live bytes first (a 256 MiB block, untouched, freed), so that the
        // test harness's own small allocations do not release the range under test.
        let room = Layout::from_size_align(256 << 20, 64).expect("layout");
        // SAFETY: a valid layout; freed with it at once.
        unsafe { a.dealloc(a.alloc(room), room) };
        // SAFETY: a valid nonzero layout; freed below with the same layout.
        let p = unsafe { a.alloc_zeroed(layout) };
        assert!(!p.is_null());
        // SAFETY: the block is `size` bytes.
        let block = unsafe { std::slice::from_raw_parts_mut(p, size) };
        assert!(block.iter().all(|&b| b == 0));
        block.fill(0xa5);
        // SAFETY: allocated above with this layout.
        unsafe { a.dealloc(p, layout) };
        assert!(kept_bytes() >= size);
        let before = minor_faults();
        // SAFETY: as above.
        let q = unsafe { a.alloc_zeroed(layout) };
        // SAFETY: the block is `size` bytes.
        let block = unsafe { std::slice::from_raw_parts_mut(q, size) };
        assert!(block.iter().all(|&b| b == 0), "a reused block is zeroed by alloc_zeroed");
        block.fill(1);
        let faults = minor_faults() - before;
        // 64 MiB of fresh pages would be 16 384 faults.
        assert!(faults < 1000, "{faults} faults touching a reused block");
        // SAFETY: allocated above with this layout.
        unsafe { a.dealloc(q, layout) };
    }

    /// Live + kept bytes never pass the most live bytes ever (the bound on `M`).
    /// (Read a few times: another test thread may be between adding its bytes and raising the
    /// maximum.)
    fn assert_bound() {
        let mut last = (0, 0, 0);
        for _ in 0..100 {
            let (live, kept, high) = (LIVE.load(Relaxed), KEPT_BYTES.load(Relaxed), HIGH.load(Relaxed));
            if live + kept <= high {
                return;
            }
            last = (live, kept, high);
            std::thread::yield_now();
        }
        panic!("live {} + kept {} > high {}", last.0, last.1, last.2);
    }

    #[test]
    fn kept_ranges_never_raise_the_most_live_bytes() {
        let _guard = serial();
        let a = Allocator;
        let small = Layout::from_size_align(8 << 20, 8).expect("layout");
        // SAFETY: valid layouts; each block freed with its own layout.
        unsafe {
            let p = a.alloc(small);
            fill(p, small.size(), 1);
            a.dealloc(p, small);
            assert!(kept_bytes() >= small.size());
            assert_bound();
            // A block that takes live bytes past their old maximum: every kept range goes first.
            let beyond = HIGH.load(Relaxed) - LIVE.load(Relaxed) + (64 << 20);
            let big = Layout::from_size_align(beyond, 8).expect("layout");
            let q = a.alloc(big);
            assert_eq!(kept_bytes(), 0, "kept ranges released before fresh memory past the maximum");
            assert_bound();
            fill(q, big.size(), 2);
            check(q, big.size(), 2);
            a.dealloc(q, big);
            assert_bound();
            // Carving: two blocks from the freed range, disjoint, contents independent.
            let x = a.alloc(small);
            let y = a.alloc(small);
            assert_bound();
            assert!(x as usize + small.size() <= y as usize || y as usize + small.size() <= x as usize);
            fill(x, small.size(), 3);
            fill(y, small.size(), 4);
            check(x, small.size(), 3);
            check(y, small.size(), 4);
            // Small blocks (below `LARGE`) past the maximum take their bytes from the kept ranges too.
            let room = HIGH.load(Relaxed) - LIVE.load(Relaxed);
            let chunk = Layout::from_size_align(LARGE / 4, 8).expect("layout");
            let mut smalls = Vec::new();
            for _ in 0..room / chunk.size() + 4 {
                smalls.push(a.alloc(chunk));
                assert_bound();
            }
            for s in smalls {
                a.dealloc(s, chunk);
            }
            a.dealloc(x, small);
            a.dealloc(y, small);
            assert_bound();
        }
    }

    #[test]
    fn kept_ranges_expire() {
        let _guard = serial();
        let a = Allocator;
        let layout = Layout::from_size_align(8 << 20, 8).expect("layout");
        // SAFETY: a valid layout; the block is freed with it.
        unsafe {
            let p = a.alloc(layout);
            fill(p, layout.size(), 5);
            a.dealloc(p, layout);
        }
        assert!(kept_bytes() > 0);
        Kept::lock().expire(Instant::now());
        assert!(kept_bytes() > 0, "not yet");
        Kept::lock().expire(Instant::now() + keep_for() + Duration::from_millis(1));
        assert_eq!(kept_bytes(), 0, "every range expired");
    }

    #[test]
    fn small_blocks_and_big_alignments_stay_with_mimalloc() {
        let _guard = serial();
        let a = Allocator;
        assert!(!is_large(LARGE - 1, 8));
        assert!(!is_large(LARGE, 2 * PAGE));
        assert!(is_large(LARGE, PAGE));
        let layout = Layout::from_size_align(LARGE, 1 << 21).expect("layout");
        // SAFETY: a valid nonzero layout; freed below.
        let p = unsafe { a.alloc(layout) };
        assert_eq!(p as usize % (1 << 21), 0, "alignment honoured");
        // SAFETY: allocated above with this layout.
        unsafe { a.dealloc(p, layout) };
    }

    #[test]
    fn realloc_keeps_contents_across_every_transition() {
        let _guard = serial();
        let a = Allocator;
        // small → small → large → larger → smaller large → small, contents kept each time.
        let sizes = [1000, 1 << 20, LARGE + 5, 5 * LARGE + 3, LARGE + PAGE, 4096, 100];
        let mut layout = Layout::from_size_align(sizes[0], 16).expect("layout");
        // SAFETY: a valid nonzero layout.
        let mut p = unsafe { a.alloc(layout) };
        fill(p, sizes[0], 3);
        for &next in &sizes[1..] {
            let keep = layout.size().min(next);
            // SAFETY: `p` was allocated with `layout`; `next` is nonzero.
            p = unsafe { a.realloc(p, layout, next) };
            assert!(!p.is_null());
            check(p, keep, 3);
            layout = Layout::from_size_align(next, 16).expect("layout");
            fill(p, next, 3);
            check(p, next, 3);
        }
        // SAFETY: allocated (last) with `layout`.
        unsafe { a.dealloc(p, layout) };
    }

    #[test]
    fn threads_allocating_at_once_get_disjoint_blocks() {
        let _guard = serial();
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let a = Allocator;
                    for round in 0..20u8 {
                        let size = LARGE + (t as usize) * 12_345 + (round as usize) * PAGE;
                        let layout = Layout::from_size_align(size, 8).expect("layout");
                        // SAFETY: a valid nonzero layout; freed with it below.
                        unsafe {
                            let p = a.alloc(layout);
                            assert!(!p.is_null());
                            fill(p, size, t.wrapping_mul(31).wrapping_add(round));
                            std::thread::yield_now();
                            check(p, size, t.wrapping_mul(31).wrapping_add(round));
                            a.dealloc(p, layout);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
    }
}
