//! Incremental markup-boundary scanner. It finds where complete tokens (tags, CDATA
//! sections, processing instructions) end so quick-xml only ever sees whole tokens, and
//! it remembers its state between feeds so every byte is looked at once, whatever the
//! chunking. Comments and markup declarations are refused as soon as they start.

use super::XmlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Character data; looking for `<`.
    Text,
    /// Just after `<`.
    Lt,
    /// Just after `<!`.
    Bang,
    /// Inside a start or end tag; `quote` is the open quote byte or 0.
    Tag { quote: u8 },
    /// Just after an attribute value's closing quote, where XML requires whitespace,
    /// `/` or `>` (quick-xml would accept `a='1'b='2'`).
    AfterValue,
    /// Inside `<![CDATA[`; `brackets` counts trailing `]` (at most 2).
    Cdata { brackets: u8 },
    /// Inside `<?`; `question` when the previous byte was `?`.
    Pi { question: bool },
}

#[derive(Debug)]
pub(super) struct Scanner {
    state: State,
    /// Index in the buffer of the next byte to look at.
    scan: usize,
    /// Index just past the last complete token.
    complete: usize,
}

impl Scanner {
    pub(super) fn new() -> Self {
        Scanner {
            state: State::Text,
            scan: 0,
            complete: 0,
        }
    }

    /// End of the last complete token found so far.
    pub(super) fn complete(&self) -> usize {
        self.complete
    }

    /// True when the bytes after `complete()` are character data only.
    pub(super) fn in_text(&self) -> bool {
        self.state == State::Text
    }

    /// The buffer lost its first `n` bytes (all before `complete()`).
    pub(super) fn shift(&mut self, n: usize) {
        self.scan -= n;
        self.complete -= n;
    }

    /// Treats everything up to `to` (in text state) as consumed.
    pub(super) fn skip_text(&mut self, to: usize) {
        debug_assert!(self.state == State::Text);
        self.scan = to;
        self.complete = to;
    }

    /// Looks at the bytes not yet scanned.
    pub(super) fn run(&mut self, buf: &[u8]) -> Result<(), XmlError> {
        let mut i = self.scan;
        while i < buf.len() {
            match self.state {
                State::Text => match buf[i..].iter().position(|&b| b == b'<') {
                    Some(k) => {
                        i += k + 1;
                        self.state = State::Lt;
                    }
                    None => i = buf.len(),
                },
                State::Lt => match buf[i] {
                    b'!' => {
                        i += 1;
                        self.state = State::Bang;
                    }
                    b'?' => {
                        i += 1;
                        self.state = State::Pi { question: false };
                    }
                    _ => self.state = State::Tag { quote: 0 },
                },
                State::Bang => match buf[i] {
                    b'[' => {
                        i += 1;
                        self.state = State::Cdata { brackets: 0 };
                    }
                    b'-' => return Err(XmlError::Restricted("comment")),
                    b'D' => return Err(XmlError::Restricted("DTD")),
                    b'E' => return Err(XmlError::Restricted("entity declaration")),
                    _ => return Err(XmlError::Restricted("markup declaration")),
                },
                State::Tag { quote } => {
                    let rest = &buf[i..];
                    let hit = if quote == 0 {
                        rest.iter()
                            .position(|&b| matches!(b, b'>' | b'\'' | b'"' | b'<'))
                    } else {
                        rest.iter().position(|&b| b == quote || b == b'<')
                    };
                    let Some(k) = hit else {
                        i = buf.len();
                        continue;
                    };
                    i += k + 1;
                    match buf[i - 1] {
                        b'<' => return Err(XmlError::NotWellFormed("'<' inside a tag".to_owned())),
                        b'>' => self.token_end(i),
                        q if quote == 0 => self.state = State::Tag { quote: q },
                        _ => self.state = State::AfterValue,
                    }
                }
                State::AfterValue => match buf[i] {
                    b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>' => {
                        self.state = State::Tag { quote: 0 }
                    }
                    _ => {
                        return Err(XmlError::NotWellFormed(
                            "no whitespace between attributes".to_owned(),
                        ))
                    }
                },
                State::Cdata { brackets } => {
                    let b = buf[i];
                    i += 1;
                    self.state = match b {
                        b']' => State::Cdata {
                            brackets: (brackets + 1).min(2),
                        },
                        b'>' if brackets == 2 => {
                            self.token_end(i);
                            continue;
                        }
                        _ => State::Cdata { brackets: 0 },
                    };
                }
                State::Pi { question } => {
                    let b = buf[i];
                    i += 1;
                    if b == b'>' && question {
                        self.token_end(i);
                    } else {
                        self.state = State::Pi {
                            question: b == b'?',
                        };
                    }
                }
            }
        }
        self.scan = i;
        Ok(())
    }

    fn token_end(&mut self, end: usize) {
        self.complete = end;
        self.state = State::Text;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete_after_bytewise(input: &[u8]) -> Result<usize, XmlError> {
        let mut s = Scanner::new();
        for n in 1..=input.len() {
            s.run(&input[..n])?;
        }
        Ok(s.complete())
    }

    #[test]
    fn quoted_gt_does_not_end_a_tag() {
        let input = b"<a b='>' c=\"'>\">text<d";
        assert_eq!(complete_after_bytewise(input), Ok(16));
        let mut s = Scanner::new();
        s.run(input).expect("ok");
        assert_eq!(s.complete(), 16);
        assert!(!s.in_text());
    }

    #[test]
    fn cdata_ends_only_at_double_bracket_gt() {
        let input = b"<![CDATA[a]>b]]c]]]>x";
        assert_eq!(complete_after_bytewise(input), Ok(input.len() - 1));
    }

    #[test]
    fn processing_instruction_ends_at_question_gt() {
        let input = b"<?xml version='1.0'?><a>";
        assert_eq!(complete_after_bytewise(input), Ok(input.len()));
    }

    #[test]
    fn comments_and_declarations_are_refused_when_they_start() {
        assert_eq!(
            complete_after_bytewise(b"<a><!-"),
            Err(XmlError::Restricted("comment"))
        );
        assert_eq!(
            complete_after_bytewise(b"<!DOCTYPE"),
            Err(XmlError::Restricted("DTD"))
        );
        assert_eq!(
            complete_after_bytewise(b"<!ENTITY"),
            Err(XmlError::Restricted("entity declaration"))
        );
    }

    #[test]
    fn attributes_must_be_separated_by_whitespace() {
        assert!(matches!(
            complete_after_bytewise(b"<a b='1'c='2'/>"),
            Err(XmlError::NotWellFormed(_))
        ));
        assert_eq!(complete_after_bytewise(b"<a b='1'\nc=\"2\"/>"), Ok(16));
    }

    #[test]
    fn lt_inside_a_tag_or_attribute_is_not_well_formed() {
        assert!(matches!(
            complete_after_bytewise(b"<a b='<'>"),
            Err(XmlError::NotWellFormed(_))
        ));
        assert!(matches!(
            complete_after_bytewise(b"<a <b>"),
            Err(XmlError::NotWellFormed(_))
        ));
    }
}
