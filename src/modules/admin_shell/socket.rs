//! The listening side (Prosody's mod_admin_socket): a unix socket, readable by its owner
//! only, whose connections speak [`super::protocol`]. Each line runs on the core thread as
//! a [`CoreMsg::Task`]; the connection waits for its answer, so lines run in order.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::console::{self, Reply};
use super::{protocol, AdminError};
use crate::core::session::CoreTask;
use crate::core::{CoreMsg, Shared};
use crate::xml::{Limits, StreamEvent, StreamParser};

/// The listening admin socket; closing it (drop) stops accepting and removes the file.
pub struct AdminSocket {
    path: PathBuf,
    accept: tokio::task::JoinHandle<()>,
}

impl AdminSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Makes room for the socket: a file left by a server that is gone is removed; a socket
/// some running server still answers on, or a file that is not a socket, is left alone.
fn clear_stale(path: &Path) -> Result<(), AdminError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(AdminError::NotASocket(path.to_path_buf()));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(AdminError::InUse(path.to_path_buf()));
    }
    std::fs::remove_file(path).map_err(|e| AdminError::Bind(path.to_path_buf(), e))
}

/// Binds the socket at `path` (owner-only permissions) and starts accepting. Must run
/// inside the tokio runtime.
pub fn listen(path: PathBuf, shared: Arc<Shared>) -> Result<AdminSocket, AdminError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AdminError::Bind(path.clone(), e))?;
    }
    clear_stale(&path)?;
    let listener = UnixListener::bind(&path).map_err(|e| AdminError::Bind(path.clone(), e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| AdminError::Bind(path.clone(), e))?;
    tracing::info!("Admin socket listening on {}", path.display());
    let accept = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let tx = shared.core_tx.clone();
                    tokio::spawn(serve(stream, tx));
                }
                Err(e) => {
                    tracing::warn!("admin socket: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(AdminSocket { path, accept })
}

/// Runs one console line on the core thread.
pub async fn run_on_core(core_tx: &mpsc::UnboundedSender<CoreMsg>, line: String) -> Reply {
    let (tx, rx) = oneshot::channel();
    let task = CoreTask(Box::new(move |core| {
        let _ = tx.send(console::run_line(core, &line));
    }));
    if core_tx.send(CoreMsg::Task(task)).is_err() {
        return Reply::err(Vec::new(), "the server is shutting down");
    }
    rx.await
        .unwrap_or_else(|_| Reply::err(Vec::new(), "the server is shutting down"))
}

/// One admin connection, until the client closes its stream or the connection.
async fn serve(mut stream: UnixStream, core_tx: mpsc::UnboundedSender<CoreMsg>) {
    let mut parser = StreamParser::new(Limits::default());
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Err(e) = parser.feed(&buf[..n]) {
            tracing::debug!("admin socket: bad XML from client: {e}");
        }
        loop {
            let out = match parser.next_event() {
                Ok(None) => break,
                Err(_) => {
                    let _ = stream.write_all(protocol::STREAM_CLOSE.as_bytes()).await;
                    return;
                }
                Ok(Some(StreamEvent::Open(_))) => protocol::stream_header(),
                Ok(Some(StreamEvent::Close)) => {
                    let _ = stream.write_all(protocol::STREAM_CLOSE.as_bytes()).await;
                    return;
                }
                Ok(Some(StreamEvent::Stanza(e))) if e.name == "repl-input" => {
                    let reply = run_on_core(&core_tx, e.text()).await;
                    protocol::reply(&reply.output, reply.error, &reply.result)
                }
                Ok(Some(StreamEvent::Stanza(e))) => protocol::reply(
                    &[],
                    true,
                    &format!("No module handled this query (<{}/>)", e.name),
                ),
            };
            if stream.write_all(out.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}
