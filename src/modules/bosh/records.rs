//! The records a BOSH task and its c2s session exchange over their pipe:
//! `[tag][u32 length, little endian][bytes]`.

/// Task → session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum In {
    /// A new stream (session creation or restart); bytes: the `to` host.
    Open = 1,
    /// Stanzas of a request body, serialised in `jabber:client`.
    Xml = 2,
    /// The client terminated the session (after its payload).
    Close = 3,
    /// No request held for `bosh_max_inactivity`: the session ends.
    Silent = 4,
    /// A request's payload was not well-formed: the session ends with `bad-format`.
    Malformed = 5,
}

impl In {
    pub fn from_tag(tag: u8) -> Option<In> {
        Some(match tag {
            1 => In::Open,
            2 => In::Xml,
            3 => In::Close,
            4 => In::Silent,
            5 => In::Malformed,
            _ => return None,
        })
    }
}

/// Session → task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Out {
    /// One serialised element for a response body.
    Element = 1,
    /// A `<stream:error>`: the terminate body carries it.
    Error = 2,
    /// The server closed the stream.
    Close = 3,
    /// SASL succeeded: the client's next request restarts the stream.
    Restart = 4,
}

impl Out {
    pub fn from_tag(tag: u8) -> Option<Out> {
        Some(match tag {
            1 => Out::Element,
            2 => Out::Error,
            3 => Out::Close,
            4 => Out::Restart,
            _ => return None,
        })
    }
}

const HEAD: usize = 5;

/// Appends one record.
pub fn put(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.reserve(HEAD + bytes.len());
    out.push(tag);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Takes the first complete record off `buf`, `None` while it is incomplete.
pub fn take(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if buf.len() < HEAD {
        return None;
    }
    let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < HEAD + len {
        return None;
    }
    let tag = buf[0];
    let payload = buf[HEAD..HEAD + len].to_vec();
    buf.drain(..HEAD + len);
    Some((tag, payload))
}
