//! A session's unsent output: appended as it is queued, written from the front, and
//! compacted as it goes so that a peer that always leaves some of it unread does not make
//! it grow without end.

/// Written bytes are dropped from the front once at least this many are written and they
/// are at least half the buffer (amortised: each byte is moved at most once more).
const COMPACT_AFTER: usize = 64 * 1024;

/// A buffer whose capacity is above this is given back to the allocator with
/// `malloc_trim` when it is dropped (glibc keeps freed memory otherwise).
const TRIM_ABOVE: usize = 1 << 20;

/// Unsent output.
#[derive(Debug, Default)]
pub struct Output {
    buf: Vec<u8>,
    written: usize,
}

impl Output {
    /// The buffer to append framed output to.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// What is still to be written.
    pub fn unsent(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    pub fn len(&self) -> usize {
        self.buf.len() - self.written
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` bytes of [`Self::unsent`] were written.
    pub fn consume(&mut self, n: usize) {
        self.written = (self.written + n).min(self.buf.len());
        if self.written == self.buf.len() {
            self.buf.clear();
            self.written = 0;
        } else if self.written >= COMPACT_AFTER && self.written * 2 >= self.buf.len() {
            self.buf.drain(..self.written);
            self.written = 0;
        }
    }

    /// Drops everything unsent (the peer cannot be reached any more).
    pub fn discard(&mut self) {
        let large = self.buf.capacity() > TRIM_ABOVE;
        self.buf = Vec::new();
        self.written = 0;
        if large {
            give_back_memory();
        }
    }

    /// An empty buffer keeps no memory.
    pub fn release_if_empty(&mut self) {
        if self.is_empty() && self.buf.capacity() > 0 {
            self.discard();
        }
    }
}

/// Returns freed heap memory to the system where the allocator keeps it (glibc).
pub fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_that_always_leaves_some_unread_keeps_the_buffer_bounded() {
        let mut out = Output::default();
        let chunk = vec![b'x'; 16 * 1024];
        for _ in 0..1000 {
            out.buf().extend_from_slice(&chunk);
            // The peer takes a little less than what was queued each turn but catches
            // up; what is unsent stays under 200 KiB.
            let take = out.len().saturating_sub(100 * 1024).max(chunk.len() / 2);
            out.consume(take);
        }
        assert!(out.len() <= 200 * 1024, "{}", out.len());
        assert!(
            out.buf.capacity() <= 1 << 20,
            "capacity {}",
            out.buf.capacity()
        );
    }

    #[test]
    fn written_output_is_dropped_from_the_front_in_order() {
        let mut out = Output::default();
        out.buf().extend_from_slice(b"abcdef");
        out.consume(2);
        assert_eq!(out.unsent(), b"cdef");
        out.buf().extend_from_slice(b"gh");
        out.consume(4);
        assert_eq!(out.unsent(), b"gh");
        out.consume(2);
        assert!(out.is_empty());
        out.release_if_empty();
        assert_eq!(out.buf.capacity(), 0);
    }
}
