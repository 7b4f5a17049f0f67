//! A tiny authoritative DNS server for the test network: answers SRV, A and AAAA queries
//! from a table the test fills (NXDOMAIN otherwise) on a UDP port on 127.0.0.1. Lilt is
//! pointed at it with `s2s_resolver`, Prosody through libunbound's `forward` option.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

type Table = HashMap<(String, RecordType), Vec<RData>>;

pub struct TestDns {
    pub addr: SocketAddr,
    table: Arc<Mutex<Table>>,
    task: tokio::task::JoinHandle<()>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl TestDns {
    pub async fn start() -> TestDns {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind dns");
        let addr = sock.local_addr().expect("dns addr");
        let table: Arc<Mutex<Table>> = Arc::default();
        let t = table.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(req) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let reply = answer(&t, &req);
                if let Ok(bytes) = reply.to_vec() {
                    let _ = sock.send_to(&bytes, peer).await;
                }
            }
        });
        TestDns { addr, table, task }
    }

    /// `_xmpp-server._tcp.<domain>` (or `_xmpps-server` for direct TLS) -> target:port.
    pub fn srv(&self, domain: &str, direct_tls: bool, target: &str, port: u16) {
        let service = if direct_tls {
            "_xmpps-server"
        } else {
            "_xmpp-server"
        };
        let name = format!("{service}._tcp.{domain}");
        let target = Name::from_ascii(format!("{target}.")).expect("target name");
        self.add(
            &name,
            RecordType::SRV,
            RData::SRV(SRV::new(0, 5, port, target)),
        );
    }

    pub fn a(&self, name: &str, ip: Ipv4Addr) {
        self.add(name, RecordType::A, RData::A(A(ip)));
    }

    /// Removes every record of `domain` and the names below it (its SRV and A records).
    pub fn forget(&self, domain: &str) {
        let name = key(domain);
        let below = format!(".{name}");
        self.table
            .lock()
            .expect("dns table")
            .retain(|(n, _), _| *n != name && !n.ends_with(&below));
    }

    fn add(&self, name: &str, rtype: RecordType, data: RData) {
        self.table
            .lock()
            .expect("dns table")
            .entry((key(name), rtype))
            .or_default()
            .push(data);
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(table: &Mutex<Table>, req: &Message) -> Message {
    let mut reply = Message::new(req.metadata.id, MessageType::Response, req.metadata.op_code);
    reply.metadata.recursion_desired = req.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.metadata.authoritative = true;
    let table = table.lock().expect("dns table");
    let mut found_name = false;
    for q in &req.queries {
        reply.add_query(q.clone());
        let name = key(&q.name().to_ascii());
        // A name with records below it exists (an empty non-terminal): NODATA, not
        // NXDOMAIN, or a resolver doing QNAME minimisation would give up on the subtree.
        let below = format!(".{name}");
        if table.keys().any(|(n, _)| *n == name || n.ends_with(&below)) {
            found_name = true;
        }
        if let Some(records) = table.get(&(name, q.query_type())) {
            for r in records {
                reply.add_answer(Record::from_rdata(q.name().clone(), 60, r.clone()));
            }
        }
    }
    if !found_name {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    if std::env::var("LILT_TEST_DNS_LOG").is_ok() {
        for q in &req.queries {
            eprintln!(
                "dns: {} {:?} -> {:?} {} answers",
                q.name(),
                q.query_type(),
                reply.metadata.response_code,
                reply.answers.len()
            );
        }
    }
    reply
}
