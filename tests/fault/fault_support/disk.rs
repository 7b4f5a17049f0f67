//! Disk faults for storage tests: a small tmpfs mounted on the data directory (root only:
//! without root the tests that need it say so and check nothing), filled to ENOSPC or
//! remounted read-only; and helpers to look at what is left on disk.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a directory for the life of the value.
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "64k") on `dir`; `None` when not root.
    pub fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: skipping the tmpfs fault cases");
            return None;
        }
        std::fs::create_dir_all(dir).expect("mount point");
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(st.success(), "root can mount a tmpfs");
        Some(Tmpfs(dir.to_path_buf()))
    }

    /// `mount -o remount,<opts>` (e.g. "ro", "rw").
    pub fn remount(&self, opts: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(st.success(), "remount {opts}");
    }

    /// Fills the tmpfs until a write fails with ENOSPC (the filler is `filler` in it).
    pub fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.filler()).expect("filler");
        let chunk = vec![0u8; 1024];
        loop {
            match f.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("unexpected error filling the disk: {e}"),
            }
        }
        let _ = f.sync_all();
    }

    /// Frees the space taken by `fill`.
    pub fn unfill(&self) {
        std::fs::remove_file(self.filler()).expect("remove filler");
    }

    fn filler(&self) -> PathBuf {
        self.0.join("filler")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Temporary files of atomic writes (`name~random`) left under `dir`.
pub fn leftover_temporaries(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains('~'))
        .collect()
}
