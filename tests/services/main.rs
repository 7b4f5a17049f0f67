//! Server services a deployment expects: mod_http_files, disco/version/uptime info,
//! in-band registration, vCard/private storage, component hosts, and the admin shell.

#[path = "../harness/mod.rs"]
mod harness;
use harness::{common, support};

mod admin_shell;
mod components;
mod http_files;
mod info;
mod register;
mod storage;
