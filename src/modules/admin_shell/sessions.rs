//! `c2s:show`, `count`, `close` and `closeall`: the bound client sessions the core holds,
//! grouped by host as Prosody's console shows them.

use super::command::Arg;
use super::console::{arg, Reply};
use crate::core::{Core, Session};
use crate::xmpp::error::{StreamCondition, StreamError};

pub fn run(core: &mut Core, method: &str, args: &[Arg]) -> Reply {
    match method {
        "show" => show(core, arg(args, 0).as_deref()),
        "count" => Reply::ok(
            Vec::new(),
            format!("Total: {} clients", core.sessions.len()),
        ),
        "close" => match arg(args, 0) {
            Some(jid) => close(
                core,
                |s| s.full_jid() == jid || s.bare_jid() == jid,
                arg(args, 1),
            ),
            None => Reply::err(Vec::new(), "usage: c2s:close(jid)"),
        },
        "closeall" => close(core, |_| true, arg(args, 0)),
        _ => Reply::err(
            Vec::new(),
            format!("c2s:{method}() is not a console command here; type 'help c2s'"),
        ),
    }
}

fn sorted(core: &Core) -> Vec<&Session> {
    let mut all: Vec<&Session> = core.sessions.values().map(|s| &**s).collect();
    all.sort_by(|a, b| {
        (&a.host(), &a.username(), &a.resource()).cmp(&(&b.host(), &b.username(), &b.resource()))
    });
    all
}

fn row(cells: [&str; 6]) -> String {
    format!(
        "{:<12} {:<36} {:<4} {:<6} {:<8} {}",
        cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
    )
    .trim_end()
    .to_owned()
}

fn status(s: &Session) -> String {
    match &s.presence {
        None => String::new(),
        Some(p) => p
            .get_child("show", crate::xmpp::ns::CLIENT)
            .map(|e| e.text())
            .unwrap_or_else(|| "online".into()),
    }
}

fn show(core: &Core, jid: Option<&str>) -> Reply {
    let all = sorted(core);
    let shown: Vec<&&Session> = all
        .iter()
        .filter(|s| jid.is_none_or(|j| s.full_jid() == j || s.bare_jid() == j))
        .collect();
    let mut output = Vec::new();
    let mut current: Option<&str> = None;
    for s in &shown {
        if current != Some(s.host()) {
            current = Some(s.host());
            output.push(format!("# Host {}", s.host()));
            output.push(row([
                "Session ID",
                "JID",
                "IPv",
                "Status",
                "Security",
                "Method",
            ]));
        }
        let ipv = match s.ip {
            Some(std::net::IpAddr::V4(_)) => "IPv4",
            Some(std::net::IpAddr::V6(_)) => "IPv6",
            None => "",
        };
        let method = match s.transport {
            "websocket" => "WebSocket",
            "c2s" => "TCP",
            other => other,
        };
        output.push(row([
            &format!("c2s{}", s.id),
            s.full_jid(),
            ipv,
            &status(s),
            if s.secure { "secure" } else { "insecure" },
            method,
        ]));
    }
    let message = if shown.len() == all.len() {
        format!("{} c2s sessions shown", all.len())
    } else {
        format!("{} out of {} c2s sessions shown", shown.len(), all.len())
    };
    Reply::ok(output, message)
}

fn close(core: &mut Core, matches: impl Fn(&Session) -> bool, text: Option<String>) -> Reply {
    let ids: Vec<_> = core
        .sessions
        .values()
        .filter(|s| matches(s))
        .map(|s| s.id)
        .collect();
    for id in &ids {
        let error = text.as_deref().map(|t| {
            StreamError::new(StreamCondition::UndefinedCondition)
                .with_text(t.to_owned())
                .element()
        });
        core.close_session(*id, error);
    }
    Reply::ok(Vec::new(), format!("Total: {} sessions closed", ids.len()))
}
