//! The bench's error type: whose fault a failed session was (network, server, our setup).

/// Why one bench session or command failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad URL {0:?}: expected ws://HOST:PORT/PATH")]
    Url(String),
    #[error("WebSocket handshake refused: {0}")]
    Handshake(String),
    #[error("WebSocket framing: {0}")]
    Frame(#[from] crate::ws::frame::FrameError),
    #[error("connection closed by the server")]
    Closed,
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("server answered unexpectedly while {stage}: {got}")]
    Protocol { stage: &'static str, got: String },
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("{0}")]
    Setup(String),
}

impl BenchError {
    /// A protocol error quoting (a bounded prefix of) what the server sent.
    pub fn protocol(stage: &'static str, got: &str) -> Self {
        let got: String = got.chars().take(300).collect();
        BenchError::Protocol { stage, got }
    }
}
