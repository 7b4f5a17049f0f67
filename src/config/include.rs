//! `Include` path resolution: relative to the including file, with wildcards.
//!
//! Prosody allows `*`/`?` only in the last path part and includes matches in raw directory
//! order. Lilt also expands wildcards in directory parts (`stack/*/*.cfg.lua`) and always
//! includes matches in sorted path order, so numbered layers apply in order.

use std::path::{Component, Path, PathBuf};

/// Resolves an `Include` argument against the directory of the including file.
/// A leading `./` is dropped; absolute paths are kept as given.
pub fn resolve(including_file: &Path, arg: &str) -> PathBuf {
    let arg = arg.strip_prefix("./").unwrap_or(arg);
    let p = Path::new(arg);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let base = including_file.parent().unwrap_or_else(|| Path::new("."));
    base.join(p)
}

/// True when the argument is a glob rather than a single file name.
pub fn is_glob(arg: &str) -> bool {
    arg.contains('*') || arg.contains('?')
}

/// Expands a resolved glob path into the matching files, sorted by path.
///
/// Err holds the directory that could not be read: the fixed (wildcard-free) part of the
/// path must exist, as in Prosody; a directory part that matches nothing yields no files.
pub fn expand(pattern: &Path) -> Result<Vec<PathBuf>, PathBuf> {
    let mut fixed = PathBuf::new();
    let mut rest: Vec<String> = Vec::new();
    for comp in pattern.components() {
        let text = comp.as_os_str().to_string_lossy();
        if rest.is_empty() && !is_glob(&text) {
            fixed.push(comp);
        } else if !matches!(comp, Component::CurDir) {
            rest.push(text.into_owned());
        }
    }
    if !fixed.is_dir() {
        return Err(fixed);
    }
    let mut found = Vec::new();
    walk(&fixed, &rest, &mut found);
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, parts: &[String], found: &mut Vec<PathBuf>) {
    let Some((first, more)) = parts.split_first() else {
        return;
    };
    let last = more.is_empty();
    if !is_glob(first) {
        let next = dir.join(first);
        if last {
            if next.is_file() {
                found.push(next);
            }
        } else if next.is_dir() {
            walk(&next, more, found);
        }
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Hidden entries are skipped, as Prosody skips them.
        if name.starts_with('.') || !glob_match(first, &name) {
            continue;
        }
        let path = entry.path();
        if last {
            if path.is_file() {
                found.push(path);
            }
        } else if path.is_dir() {
            walk(&path, more, found);
        }
    }
}

/// Anchored glob match: `*` any run of characters, `?` any single character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_and_question_mark_are_anchored() {
        assert!(glob_match("*.cfg.lua", "a.cfg.lua"));
        assert!(!glob_match("*.cfg.lua", "a.cfg.lua~"));
        assert!(glob_match("0?-*", "01-transport"));
        assert!(!glob_match("0?-*", "1-transport"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn relative_includes_resolve_against_the_including_file() {
        let p = resolve(Path::new("/etc/x/prosody.cfg.lua"), "./conf.d/a.lua");
        assert_eq!(p, PathBuf::from("/etc/x/conf.d/a.lua"));
        assert_eq!(resolve(Path::new("/etc/x/p.lua"), "/abs.lua"), PathBuf::from("/abs.lua"));
    }
}
