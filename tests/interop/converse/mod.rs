//! Converse.js 14 (npm, tests/web/node_modules) in headless Chromium against a `lilt`
//! child process: the Converse.js lines of issues 16 (a MUC room with a slixmpp occupant),
//! 17 (avatar, nickname, bookmark), 18 (history from MAM on a second device) and 21 (BOSH,
//! directly and behind nginx; file upload with its refusals). Each test runs one script of
//! tests/web/converse/ (the .mjs drivers) with one browser and a context per user or device, and asserts the
//! steps the page reported; a failure shows the pages' consoles and Lilt's log.
//!
//! Needs Debian's chromium, node and `npm ci` in tests/web (and slixmpp, nginx for the
//! tests that use them). Without them the tests fail saying what is missing; with
//! `LILT_SKIP_INTEROP=1` they are skipped, except under CI (`CI` set), where they never are.

pub mod runner;

mod bosh;
mod mam;
mod muc;
mod pep;
mod upload;
