//! String literals of the data-file subset: quoted strings with Lua's escapes (decimal,
//! `\x`, `\u{}`, `\z`) and long-bracket strings, which also delimit long comments.

use super::Parser;
use crate::storage::error::StorageError;

impl Parser<'_> {
    pub(super) fn quoted_string(&mut self) -> Result<String, StorageError> {
        let quote = self.peek().ok_or_else(|| self.error("expected a string"))?;
        self.pos += 1;
        let mut bytes = Vec::new();
        loop {
            let b = self.peek().ok_or_else(|| self.error("unfinished string"))?;
            self.pos += 1;
            match b {
                b'\n' | b'\r' => return Err(self.error("unfinished string")),
                b'\\' => self.escape(&mut bytes)?,
                _ if b == quote => break,
                _ => bytes.push(b),
            }
        }
        String::from_utf8(bytes).map_err(|_| self.error("string is not valid UTF-8"))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), StorageError> {
        let b = self.peek().ok_or_else(|| self.error("unfinished string"))?;
        self.pos += 1;
        match b {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' | b'\n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\\' | b'"' | b'\'' => out.push(b),
            b'\r' => {
                self.eat(b'\n');
                out.push(b'\n');
            }
            b'z' => {
                while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    self.pos += 1;
                }
            }
            b'x' => {
                let hex = self.src.get(self.pos..self.pos + 2).unwrap_or(b"");
                let v = std::str::from_utf8(hex)
                    .ok()
                    .filter(|h| h.len() == 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| self.error("bad \\x escape"))?;
                self.pos += 2;
                out.push(v);
            }
            b'u' => {
                self.expect(b'{')?;
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
                let c = u32::from_str_radix(text, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| self.error("bad \\u escape"))?;
                self.expect(b'}')?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            b'0'..=b'9' => {
                let mut v = u32::from(b - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'9') => {
                            v = v * 10 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(v).map_err(|_| self.error("decimal escape too large"))?);
            }
            _ => return Err(self.error("invalid escape sequence")),
        }
        Ok(())
    }

    /// At `[`, `[[` or `[==[`: the level (number of `=`), else `None`.
    pub(super) fn long_bracket_level(&self) -> Option<usize> {
        if self.peek() != Some(b'[') {
            return None;
        }
        let level = self.src[self.pos + 1..]
            .iter()
            .take_while(|&&b| b == b'=')
            .count();
        (self.peek_at(level + 1) == Some(b'[')).then_some(level)
    }

    pub(super) fn long_string(&mut self) -> Result<String, StorageError> {
        let level = self
            .long_bracket_level()
            .ok_or_else(|| self.error("expected a long string"))?;
        self.pos += level + 2;
        // A newline right after the opening bracket is not part of the string.
        if self.eat(b'\r') {
            self.eat(b'\n');
        } else if self.eat(b'\n') {
            self.eat(b'\r');
        }
        let mut close = Vec::with_capacity(level + 2);
        close.push(b']');
        close.extend(std::iter::repeat_n(b'=', level));
        close.push(b']');
        let rest = &self.src[self.pos..];
        let end = rest
            .windows(close.len())
            .position(|w| w == close.as_slice())
            .ok_or_else(|| self.error("unfinished long string"))?;
        let text = String::from_utf8(rest[..end].to_vec())
            .map_err(|_| self.error("string is not valid UTF-8"))?;
        self.pos += end + close.len();
        Ok(text)
    }
}
