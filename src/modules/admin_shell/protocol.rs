//! The admin socket's wire format, as Prosody's `util.adminstream` speaks it: an XML
//! stream in the `xmpp:prosody.im/admin` namespace, `<repl-input>` lines from the client,
//! and `<repl-output>` lines then one `<repl-result type='success|error'>` per input.

use crate::xml::Element;

/// Default namespace of the admin stream.
pub const NS: &str = "xmpp:prosody.im/admin";
/// Closes the stream.
pub const STREAM_CLOSE: &str = "</stream:stream>";

/// The stream header both sides send first.
pub fn stream_header() -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns:stream='{}' xml:lang='en' xmlns='{NS}' id=''>",
        crate::xml::STREAMS_NS
    )
}

/// One top-level element of the admin stream, serialised without a redundant `xmlns`.
pub fn element(name: &str, result_type: Option<&str>, text: &str) -> String {
    let mut e = Element::new(name, NS);
    if let Some(t) = result_type {
        e.set_attr("type", t);
    }
    if !text.is_empty() {
        e = e.with_text(text);
    }
    let mut out = String::new();
    e.write_xml(&mut out, NS);
    out
}

/// A console line sent by a client.
pub fn input(line: &str) -> String {
    element("repl-input", None, line)
}

/// The server's answer to one line: its output lines then the result.
pub fn reply(output: &[String], error: bool, result: &str) -> String {
    let mut out = String::new();
    for line in output {
        out.push_str(&element("repl-output", None, line));
    }
    let kind = if error { "error" } else { "success" };
    out.push_str(&element("repl-result", Some(kind), result));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, StreamEvent, StreamParser};

    #[test]
    fn reply_parses_back_as_output_lines_then_a_typed_result() {
        let mut p = StreamParser::new(Limits::default());
        let bytes =
            stream_header() + &reply(&["a < b".into(), "second".into()], true, "Error: \"x\" & y");
        p.feed(bytes.as_bytes()).expect("well-formed");
        assert!(matches!(p.next_event(), Ok(Some(StreamEvent::Open(_)))));
        assert_eq!(p.default_ns(), NS);
        let mut got = Vec::new();
        while let Ok(Some(StreamEvent::Stanza(e))) = p.next_event() {
            got.push((e.name.clone(), e.attr("type").map(str::to_owned), e.text()));
        }
        assert_eq!(
            got,
            vec![
                ("repl-output".into(), None, "a < b".into()),
                ("repl-output".into(), None, "second".into()),
                (
                    "repl-result".into(),
                    Some("error".into()),
                    "Error: \"x\" & y".into()
                ),
            ]
        );
    }

    #[test]
    fn input_escapes_the_line() {
        assert_eq!(
            input("x:y(\"<a>\")"),
            "<repl-input>x:y(&quot;&lt;a&gt;&quot;)</repl-input>"
        );
    }
}
