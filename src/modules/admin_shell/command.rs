//! Reading one console line: Prosody's console evaluates `section:method(args)` as Lua; Lilt
//! accepts that call shape with literal arguments (strings, numbers, booleans, `nil`), the
//! bare commands (`help`, `help SECTION`) and `>lua code` for the running VM.

use std::fmt;

/// A literal argument of a console call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    Num(f64),
    Bool(bool),
    Nil,
}

impl Arg {
    /// The argument as text (`nil` is absent), the way the console commands take names.
    pub fn text(&self) -> Option<String> {
        match self {
            Arg::Str(s) => Some(s.clone()),
            Arg::Num(n) => Some(n.to_string()),
            Arg::Bool(b) => Some(b.to_string()),
            Arg::Nil => None,
        }
    }
}

/// What a console line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Nothing to do (blank line).
    Empty,
    /// `help` or `help SECTION`.
    Help(Option<String>),
    /// `section:method(args...)`.
    Call {
        section: String,
        method: String,
        args: Vec<Arg>,
    },
    /// `>code`: Lua run in the server's VM (Prosody's escape from the console sandbox).
    Lua(String),
}

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("expected section:command(arguments), e.g. module:reload(\"motd\", \"localhost\"); type 'help'")]
    NotACall,
    #[error("unfinished string in the arguments")]
    UnfinishedString,
    #[error(
        "cannot read argument '{0}': only strings, numbers, true, false and nil are understood"
    )]
    BadArgument(String),
    #[error("missing ')' at the end of the line")]
    MissingParen,
}

/// Parses one console line.
///
/// ```
/// # use lilt::modules::admin_shell::command::{parse, Arg, Line};
/// let l = parse("module:reload('motd', \"localhost\")").unwrap();
/// assert_eq!(l, Line::Call { section: "module".into(), method: "reload".into(),
///     args: vec![Arg::Str("motd".into()), Arg::Str("localhost".into())] });
/// ```
pub fn parse(line: &str) -> Result<Line, ParseError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(Line::Empty);
    }
    if let Some(code) = line.strip_prefix('>') {
        return Ok(Line::Lua(code.to_owned()));
    }
    let mut words = line.split_whitespace();
    if words.next().is_some_and(|w| w.eq_ignore_ascii_case("help")) {
        return Ok(Line::Help(words.next().map(str::to_lowercase)));
    }
    let (section, rest) = line.split_once(':').ok_or(ParseError::NotACall)?;
    let section = section.trim();
    let (method, rest) = rest.split_once('(').ok_or(ParseError::NotACall)?;
    let method = method.trim();
    if !is_name(section) || !is_name(method) {
        return Err(ParseError::NotACall);
    }
    let rest = rest.trim_end().trim_end_matches(';').trim_end();
    let inner = rest.strip_suffix(')').ok_or(ParseError::MissingParen)?;
    Ok(Line::Call {
        section: section.to_owned(),
        method: method.to_owned(),
        args: parse_args(inner)?,
    })
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_args(s: &str) -> Result<Vec<Arg>, ParseError> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        if c == '"' || c == '\'' {
            chars.next();
            args.push(Arg::Str(string_body(&mut chars, c)?));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            args.push(literal(word.trim())?);
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => continue,
            Some(other) => return Err(ParseError::BadArgument(other.to_string())),
        }
    }
    Ok(args)
}

fn string_body(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    quote: char,
) -> Result<String, ParseError> {
    let mut out = String::new();
    loop {
        match chars.next() {
            None => return Err(ParseError::UnfinishedString),
            Some(c) if c == quote => return Ok(out),
            Some('\\') => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => return Err(ParseError::UnfinishedString),
            },
            Some(c) => out.push(c),
        }
    }
}

fn literal(word: &str) -> Result<Arg, ParseError> {
    match word {
        "nil" => Ok(Arg::Nil),
        "true" => Ok(Arg::Bool(true)),
        "false" => Ok(Arg::Bool(false)),
        _ => word
            .parse::<f64>()
            .map(Arg::Num)
            .map_err(|_| ParseError::BadArgument(word.to_owned())),
    }
}

/// The console line `prosodyctl shell` builds from command words: `module reload motd
/// localhost` becomes `module:reload("motd", "localhost")`; one word is sent as it is.
pub fn from_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [section, method, args @ ..] => {
            let args: Vec<String> = args.iter().map(|a| Quoted(a).to_string()).collect();
            format!("{section}:{method}({})", args.join(", "))
        }
    }
}

/// A string written as a double-quoted Lua literal.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(section: &str, method: &str, args: Vec<Arg>) -> Line {
        Line::Call {
            section: section.into(),
            method: method.into(),
            args,
        }
    }

    #[test]
    fn calls_with_literal_arguments_are_read() {
        assert_eq!(
            parse(r#" module:load("motd", 'a.example', nil, 3, true) "#),
            Ok(call(
                "module",
                "load",
                vec![
                    Arg::Str("motd".into()),
                    Arg::Str("a.example".into()),
                    Arg::Nil,
                    Arg::Num(3.0),
                    Arg::Bool(true)
                ]
            ))
        );
        assert_eq!(parse("c2s:count()"), Ok(call("c2s", "count", vec![])));
        assert_eq!(
            parse(r#"server:shutdown("bye \"now\", ok")"#),
            Ok(call(
                "server",
                "shutdown",
                vec![Arg::Str("bye \"now\", ok".into())]
            ))
        );
    }

    #[test]
    fn help_blank_and_lua_lines_are_recognised() {
        assert_eq!(parse("  "), Ok(Line::Empty));
        assert_eq!(parse("help"), Ok(Line::Help(None)));
        assert_eq!(parse("HELP Module"), Ok(Line::Help(Some("module".into()))));
        assert_eq!(parse(">return 1+1"), Ok(Line::Lua("return 1+1".into())));
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        assert_eq!(parse("reload motd"), Err(ParseError::NotACall));
        assert_eq!(parse("module:load(\"x\""), Err(ParseError::MissingParen));
        assert_eq!(parse("module:load(\"x)"), Err(ParseError::UnfinishedString));
        assert_eq!(
            parse("module:load(motd)"),
            Err(ParseError::BadArgument("motd".into()))
        );
    }

    #[test]
    fn command_words_become_a_call_like_prosodyctl_shell() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            from_words(&w(&["module", "reload", "motd", "localhost"])),
            r#"module:reload("motd", "localhost")"#
        );
        assert_eq!(from_words(&w(&["c2s", "count"])), "c2s:count()");
        assert_eq!(from_words(&w(&["help"])), "help");
        assert_eq!(
            from_words(&w(&["server", "shutdown", "a \"b\""])),
            r#"server:shutdown("a \"b\"")"#
        );
    }
}
