//! A bounded parser for the Lua table-constructor subset found in Prosody data files:
//! literals, tables (`[k] = v`, `name = v`, positional items, `,` or `;`), short and long
//! strings, comments, and Prosody's `(1/0)`-style non-finite numbers. Nothing is evaluated;
//! nesting is capped so a hostile file cannot exhaust the stack.

use crate::storage::error::StorageError;
use crate::storage::lua_value::{LuaKey, LuaTable, LuaValue};

mod strings;

/// Deepest table nesting accepted (Prosody's serializer stops at 127).
pub const MAX_DEPTH: usize = 128;

/// Parses a `.dat` chunk: `return <value>;` (the `return` and `;` are optional).
pub fn parse_lua_source(src: &str) -> Result<LuaValue, StorageError> {
    let mut p = Parser::new(src.as_bytes());
    p.skip_ws()?;
    if p.eat_word("return") {
        p.skip_ws()?;
    }
    let value = p.value(0)?;
    p.skip_ws()?;
    p.eat(b';');
    p.skip_ws()?;
    p.expect_end()?;
    Ok(value)
}

/// Parses a bare value with nothing around it.
pub fn parse_value(src: &str) -> Result<LuaValue, StorageError> {
    let mut p = Parser::new(src.as_bytes());
    p.skip_ws()?;
    let value = p.value(0)?;
    p.skip_ws()?;
    p.expect_end()?;
    Ok(value)
}

/// Parses a `.list` file: any number of `item(<value>);` statements.
pub fn parse_list_source(src: &str) -> Result<Vec<LuaValue>, StorageError> {
    let mut p = Parser::new(src.as_bytes());
    let mut items = Vec::new();
    loop {
        p.skip_ws()?;
        if p.at_end() {
            return Ok(items);
        }
        if !p.eat_word("item") {
            return Err(p.error("expected item(...)"));
        }
        p.skip_ws()?;
        p.expect(b'(')?;
        p.skip_ws()?;
        items.push(p.value(0)?);
        p.skip_ws()?;
        p.expect(b')')?;
        p.skip_ws()?;
        p.eat(b';');
    }
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a [u8]) -> Parser<'a> {
        Parser { src, pos: 0 }
    }

    fn error(&self, reason: impl Into<String>) -> StorageError {
        let upto = &self.src[..self.pos.min(self.src.len())];
        let line = 1 + upto.iter().filter(|&&b| b == b'\n').count();
        StorageError::BadData {
            file: "<input>".to_owned(),
            line,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), StorageError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(format!("expected '{}'", b as char)))
        }
    }

    fn expect_end(&self) -> Result<(), StorageError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error("unexpected text after the value"))
        }
    }

    /// Consumes `word` when it is followed by a non-identifier character.
    fn eat_word(&mut self, word: &str) -> bool {
        let end = self.pos + word.len();
        let matches = self.src.get(self.pos..end) == Some(word.as_bytes())
            && !self.src.get(end).is_some_and(|&b| is_ident(b));
        if matches {
            self.pos = end;
        }
        matches
    }

    /// Skips whitespace and `--` comments (line or long form).
    fn skip_ws(&mut self) -> Result<(), StorageError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => self.pos += 1,
                Some(b'-') if self.peek_at(1) == Some(b'-') => {
                    self.pos += 2;
                    if self.long_bracket_level().is_some() {
                        self.long_string()?;
                    } else {
                        while !matches!(self.peek(), None | Some(b'\n')) {
                            self.pos += 1;
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<LuaValue, StorageError> {
        match self.peek() {
            None => Err(self.error("unexpected end of data")),
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(self.error("tables nested too deeply"));
                }
                self.table(depth + 1).map(LuaValue::Table)
            }
            Some(b'"' | b'\'') => self.quoted_string().map(LuaValue::Str),
            Some(b'[') if self.long_bracket_level().is_some() => {
                self.long_string().map(LuaValue::Str)
            }
            Some(b'(') => self.parenthesised(),
            Some(b'-' | b'.' | b'0'..=b'9') => self.number(),
            Some(_) if self.eat_word("nil") => Ok(LuaValue::Nil),
            Some(_) if self.eat_word("true") => Ok(LuaValue::Bool(true)),
            Some(_) if self.eat_word("false") => Ok(LuaValue::Bool(false)),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn table(&mut self, depth: usize) -> Result<LuaTable, StorageError> {
        self.expect(b'{')?;
        let mut table = LuaTable::new();
        let mut next_index = 1i64;
        loop {
            self.skip_ws()?;
            if self.eat(b'}') {
                return Ok(table);
            }
            let key = if self.peek() == Some(b'[') && self.long_bracket_level().is_none() {
                self.pos += 1;
                self.skip_ws()?;
                let key = self.value(depth)?;
                self.skip_ws()?;
                self.expect(b']')?;
                self.skip_ws()?;
                self.expect(b'=')?;
                Some(self.key_from(key)?)
            } else {
                self.identifier_key().map(LuaKey::Str)
            };
            self.skip_ws()?;
            let value = self.value(depth)?;
            let key = key.unwrap_or_else(|| {
                let k = LuaKey::Int(next_index);
                next_index += 1;
                k
            });
            table.set(key, value);
            self.skip_ws()?;
            if !(self.eat(b',') || self.eat(b';')) {
                self.skip_ws()?;
                self.expect(b'}')?;
                return Ok(table);
            }
        }
    }

    /// `name =` (not `name ==`); restores the position when it is not a key.
    fn identifier_key(&mut self) -> Option<String> {
        let start = self.pos;
        if !self
            .peek()
            .is_some_and(|b| is_ident(b) && !b.is_ascii_digit())
        {
            return None;
        }
        while self.peek().is_some_and(is_ident) {
            self.pos += 1;
        }
        let name = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        let is_keyword = matches!(name.as_str(), "nil" | "true" | "false");
        if self.skip_ws().is_ok()
            && !is_keyword
            && self.peek() == Some(b'=')
            && self.peek_at(1) != Some(b'=')
        {
            self.pos += 1;
            return Some(name);
        }
        self.pos = start;
        None
    }

    fn key_from(&self, value: LuaValue) -> Result<LuaKey, StorageError> {
        match value {
            LuaValue::Bool(b) => Ok(LuaKey::Bool(b)),
            LuaValue::Int(i) => Ok(LuaKey::Int(i)),
            LuaValue::Num(n) => LuaKey::number(n).ok_or_else(|| self.error("NaN as a table key")),
            LuaValue::Str(s) => Ok(LuaKey::Str(s)),
            LuaValue::Nil => Err(self.error("nil as a table key")),
            LuaValue::Table(_) => Err(self.error("table as a table key")),
        }
    }

    /// `(a/b)` as Prosody writes infinities and NaN, or a parenthesised number.
    fn parenthesised(&mut self) -> Result<LuaValue, StorageError> {
        self.expect(b'(')?;
        self.skip_ws()?;
        let a = self.number()?;
        self.skip_ws()?;
        let value = if self.eat(b'/') {
            self.skip_ws()?;
            let b = self.number()?;
            let (Some(a), Some(b)) = (a.as_f64(), b.as_f64()) else {
                return Err(self.error("expected a number"));
            };
            LuaValue::Num(a / b)
        } else {
            a
        };
        self.skip_ws()?;
        self.expect(b')')?;
        Ok(value)
    }

    fn number(&mut self) -> Result<LuaValue, StorageError> {
        let negative = self.eat(b'-');
        if negative {
            self.skip_ws()?;
        }
        let start = self.pos;
        let hex = self.peek() == Some(b'0') && matches!(self.peek_at(1), Some(b'x' | b'X'));
        if hex {
            self.pos += 2;
            let digits = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                self.pos += 1;
            }
            let text = std::str::from_utf8(&self.src[digits..self.pos]).unwrap_or("");
            // Lua wraps hexadecimal integer literals modulo 2^64.
            let v = u64::from_str_radix(text, 16)
                .map_err(|_| self.error("bad hexadecimal number"))? as i64;
            return Ok(LuaValue::Int(if negative { v.wrapping_neg() } else { v }));
        }
        while let Some(b) = self.peek() {
            let sign_after_exp =
                matches!(b, b'+' | b'-') && matches!(self.src[self.pos - 1], b'e' | b'E');
            if b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E') || sign_after_exp {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = std::str::from_utf8(&self.src[start..self.pos]).unwrap_or("");
        if text.is_empty() || self.peek().is_some_and(is_ident) {
            return Err(self.error("bad number"));
        }
        let is_float = text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
        if !is_float {
            // Parsed with its sign so that i64::MIN, which we write, reads back as an
            // integer (Lua itself would read it as a float).
            let signed = if negative {
                format!("-{text}")
            } else {
                text.to_owned()
            };
            if let Ok(i) = signed.parse::<i64>() {
                return Ok(LuaValue::Int(i));
            }
        }
        // Decimal integers too big for i64 become floats, as in Lua.
        let f: f64 = text.parse().map_err(|_| self.error("bad number"))?;
        Ok(LuaValue::Num(if negative { -f } else { f }))
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
