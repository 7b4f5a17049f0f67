//! mod_version: XEP-0092 software version of the server, answered on the host only
//! (reference §9.7). Lilt names itself; `os` is the kernel's sysname unless
//! `hide_os_type = true`, and `os_version_command` replaces it with a command's output.

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::ns;

/// The name we answer with.
pub const NAME: &str = "Lilt";

pub fn load(core: &mut Core, host: &str) {
    let s = core.shared.config.host(host);
    let os = if s.boolean("hide_os_type").unwrap_or(false) {
        None
    } else {
        match s.string("os_version_command") {
            Some(cmd) => command_output(&cmd),
            None => sysname(),
        }
    };
    let query = version_query(env!("CARGO_PKG_VERSION"), os.as_deref());
    let bus = Bus::Host(host.to_owned());
    core.hook(
        &bus,
        &format!("iq-get/host/{}:query", ns::VERSION),
        0.0,
        Rc::new(move |core, ev| {
            let reply = result_for(ev.stanza.as_ref()?).with_child(query.clone());
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::VERSION.to_owned());
    }
}

/// `<query xmlns='jabber:iq:version'><name/><version/>[<os/>]</query>`.
pub fn version_query(version: &str, os: Option<&str>) -> Element {
    let mut q = Element::new("query", ns::VERSION)
        .with_child(Element::new("name", ns::VERSION).with_text(NAME))
        .with_child(Element::new("version", ns::VERSION).with_text(version));
    if let Some(os) = os {
        q.push_child(Element::new("os", ns::VERSION).with_text(os.trim()));
    }
    q
}

/// `uname().sysname`, e.g. "Linux".
pub fn sysname() -> Option<String> {
    // SAFETY: `uname` fills the zeroed struct we own; sysname is NUL-terminated by POSIX.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return None;
        }
        let s = std::ffi::CStr::from_ptr(u.sysname.as_ptr());
        Some(s.to_string_lossy().into_owned())
    }
}

fn command_output(cmd: &str) -> Option<String> {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_os_leaves_out_the_os_element() {
        let q = version_query("1.2.3", None);
        assert!(q.get_child("os", ns::VERSION).is_none());
        assert_eq!(
            q.get_child("name", ns::VERSION).map(|e| e.text()),
            Some("Lilt".into())
        );
    }

    #[test]
    fn sysname_is_the_kernel_name() {
        assert_eq!(sysname().as_deref(), Some("Linux"));
    }
}
