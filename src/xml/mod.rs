//! XML for XMPP streams: a sans-IO streaming parser with size and depth limits, the
//! element tree that stanzas are made of, and a serialiser that escapes as Prosody does.
