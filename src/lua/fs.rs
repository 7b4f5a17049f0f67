//! Files and directories for Lua (`lfs`, `util.datamanager`, `net.http.files`): stat,
//! listing and creating directories, the working directory, a monotonic clock. Plugins
//! already have `io.open`; these add no reach beyond it.

use std::time::{Instant, UNIX_EPOCH};

use mlua::{Lua, Table, Value};

fn secs(t: std::io::Result<std::time::SystemTime>) -> Option<i64> {
    t.ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

fn mode_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "directory"
    } else if ft.is_file() {
        "file"
    } else if ft.is_symlink() {
        "link"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_fifo() {
        "named pipe"
    } else if ft.is_char_device() {
        "char device"
    } else if ft.is_block_device() {
        "block device"
    } else {
        "other"
    }
}

/// `rwxr-x---` as LuaFileSystem spells permissions.
fn permissions(mode: u32) -> String {
    let mut s = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

fn stat(lua: &Lua, (path, follow): (String, Option<bool>)) -> mlua::Result<(Value, Value)> {
    use std::os::unix::fs::MetadataExt;
    let meta = if follow.unwrap_or(true) {
        std::fs::metadata(&path)
    } else {
        std::fs::symlink_metadata(&path)
    };
    let meta = match meta {
        Ok(m) => m,
        Err(e) => {
            return Ok((
                Value::Nil,
                Value::String(lua.create_string(format!("{path}: {e}"))?),
            ))
        }
    };
    let t = lua.create_table()?;
    t.set("mode", mode_of(meta.file_type()))?;
    t.set("size", meta.len())?;
    t.set("modification", secs(meta.modified()))?;
    t.set("access", secs(meta.accessed()))?;
    t.set("change", meta.ctime())?;
    t.set("permissions", permissions(meta.mode()))?;
    t.set("ino", meta.ino())?;
    t.set("dev", meta.dev())?;
    t.set("nlink", meta.nlink())?;
    t.set("uid", meta.uid())?;
    t.set("gid", meta.gid())?;
    t.set("blksize", meta.blksize())?;
    t.set("blocks", meta.blocks())?;
    Ok((Value::Table(t), Value::Nil))
}

fn result(lua: &Lua, r: std::io::Result<()>) -> mlua::Result<(Value, Value)> {
    match r {
        Ok(()) => Ok((Value::Boolean(true), Value::Nil)),
        Err(e) => Ok((Value::Nil, Value::String(lua.create_string(e.to_string())?))),
    }
}

pub fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set("fs_stat", lua.create_function(stat)?)?;
    n.set(
        "list_dir",
        lua.create_function(|lua, path: String| {
            let rd = match std::fs::read_dir(&path) {
                Ok(rd) => rd,
                Err(e) => {
                    return Ok((
                        Value::Nil,
                        Value::String(lua.create_string(format!("{path}: {e}"))?),
                    ))
                }
            };
            let mut names: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            Ok((Value::Table(lua.create_sequence_from(names)?), Value::Nil))
        })?,
    )?;
    n.set(
        "mkdir",
        lua.create_function(|lua, path: String| result(lua, std::fs::create_dir(path)))?,
    )?;
    n.set(
        "mkdir_p",
        lua.create_function(|lua, path: String| result(lua, std::fs::create_dir_all(path)))?,
    )?;
    n.set(
        "rmdir",
        lua.create_function(|lua, path: String| result(lua, std::fs::remove_dir(path)))?,
    )?;
    n.set(
        "currentdir",
        lua.create_function(|_, ()| {
            Ok(std::env::current_dir()
                .ok()
                .map(|p| p.display().to_string()))
        })?,
    )?;
    n.set(
        "getpid",
        lua.create_function(|_, ()| Ok(std::process::id()))?,
    )?;
    let origin = Instant::now();
    n.set(
        "monotonic",
        lua.create_function(move |_, ()| Ok(origin.elapsed().as_secs_f64()))?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::permissions;

    #[test]
    fn permissions_are_spelt_as_luafilesystem_does() {
        assert_eq!(permissions(0o750), "rwxr-x---");
        assert_eq!(permissions(0o644), "rw-r--r--");
    }
}
