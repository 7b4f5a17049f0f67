//! `lilt shell`: the client side of the admin socket, like `prosodyctl shell`. With
//! command words it sends one line and exits non-zero on an error result; without, it
//! reads lines from stdin (a terminal or not) until `quit` or end of input.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::{command, protocol, AdminError};
use crate::xml::{Limits, StreamEvent, StreamParser};

/// The answer to one line as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub output: Vec<String>,
    pub error: bool,
    pub result: String,
}

/// A connection to a running server's admin socket.
pub struct Client {
    stream: UnixStream,
    parser: StreamParser,
}

impl Client {
    /// Connects and opens the admin stream.
    pub fn connect(path: &Path) -> Result<Client, AdminError> {
        let stream =
            UnixStream::connect(path).map_err(|e| AdminError::Connect(path.to_path_buf(), e))?;
        let mut client = Client {
            stream,
            parser: StreamParser::new(Limits {
                max_stanza_bytes: 16 << 20,
                ..Limits::default()
            }),
        };
        client.write(&protocol::stream_header())?;
        match client.next_event()? {
            StreamEvent::Open(_) => Ok(client),
            _ => Err(AdminError::Protocol(
                "the server did not open the admin stream".into(),
            )),
        }
    }

    fn write(&mut self, s: &str) -> Result<(), AdminError> {
        self.stream
            .write_all(s.as_bytes())
            .map_err(|e| AdminError::Protocol(format!("write failed: {e}")))
    }

    fn next_event(&mut self) -> Result<StreamEvent, AdminError> {
        let mut buf = [0u8; 8192];
        loop {
            match self.parser.next_event() {
                Ok(Some(ev)) => return Ok(ev),
                Ok(None) => {}
                Err(e) => return Err(AdminError::Protocol(e.to_string())),
            }
            let n = self
                .stream
                .read(&mut buf)
                .map_err(|e| AdminError::Protocol(format!("read failed: {e}")))?;
            if n == 0 {
                return Err(AdminError::Protocol(
                    "the server closed the connection".into(),
                ));
            }
            let _ = self.parser.feed(&buf[..n]);
        }
    }

    /// Sends one console line and waits for its result.
    pub fn run(&mut self, line: &str) -> Result<Answer, AdminError> {
        self.write(&protocol::input(line))?;
        let mut output = Vec::new();
        loop {
            match self.next_event()? {
                StreamEvent::Stanza(e) if e.name == "repl-output" => output.push(e.text()),
                StreamEvent::Stanza(e) if e.name == "repl-result" => {
                    return Ok(Answer {
                        output,
                        error: e.attr("type") == Some("error"),
                        result: e.text(),
                    })
                }
                StreamEvent::Stanza(_) | StreamEvent::Open(_) => {}
                StreamEvent::Close => {
                    return Err(AdminError::Protocol("the server closed the stream".into()))
                }
            }
        }
    }

    /// Closes the admin stream.
    pub fn close(mut self) {
        let _ = self.write(protocol::STREAM_CLOSE);
    }
}

/// How the interactive shell greets and prompts (`console_banner`, `admin_shell_prompt`).
#[derive(Debug, Clone, Default)]
pub struct Greeting {
    pub banner: Option<String>,
    pub prompt: Option<String>,
}

/// `lilt shell [--socket PATH] [WORDS...]` for this config; returns the exit status.
pub fn run_cli(config: &crate::config::Config, socket: Option<PathBuf>, words: &[String]) -> u8 {
    let path = socket_for(config, socket);
    let greeting = Greeting {
        banner: config.global().string("console_banner"),
        prompt: config.global().string("admin_shell_prompt"),
    };
    let mut client = match Client::connect(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("** Unable to connect to the admin socket: {e}");
            eprintln!(
                "** Is Lilt running? Is admin_shell in modules_enabled? (socket: {})",
                path.display()
            );
            return 1;
        }
    };
    let code = if words.is_empty() {
        interactive(&mut client, &greeting)
    } else {
        one_shot(&mut client, &command::from_words(words))
    };
    client.close();
    code
}

fn one_shot(client: &mut Client, line: &str) -> u8 {
    match client.run(line) {
        Ok(a) => {
            for l in &a.output {
                println!("{l}");
            }
            if a.error {
                eprintln!("{}", a.result);
                1
            } else {
                if !a.result.is_empty() {
                    println!("{}", a.result);
                }
                0
            }
        }
        Err(e) => {
            eprintln!("** {e}");
            1
        }
    }
}

/// Lines from stdin until `quit`/`exit`/`bye` or end of input. Output lines are prefixed
/// `| ` and error results `! `, as in Prosody's shell. The status is 1 when any line
/// gave an error (so a script fed on stdin can tell).
fn interactive(client: &mut Client, greeting: &Greeting) -> u8 {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    let prompt = greeting.prompt.as_deref().unwrap_or("lilt> ");
    if tty {
        match &greeting.banner {
            Some(b) => println!("{b}"),
            None => {
                println!("Welcome to the Lilt administration console. For a list of commands, type: help");
                println!("To leave, type: quit");
            }
        }
    }
    let mut failed = false;
    let mut lines = stdin.lock().lines();
    loop {
        if tty {
            print!("{prompt}");
            let _ = std::io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else {
            if tty {
                println!();
            }
            break;
        };
        let trimmed = line.trim();
        if matches!(trimmed, "quit" | "exit" | "bye") {
            break;
        }
        if trimmed.is_empty() {
            continue;
        }
        match client.run(trimmed) {
            Ok(a) => {
                for l in &a.output {
                    println!("| {l}");
                }
                println!("{} {}", if a.error { "!" } else { "|" }, a.result);
                failed |= a.error;
            }
            Err(e) => {
                eprintln!("** {e}");
                return 1;
            }
        }
    }
    u8::from(failed)
}

/// The socket `lilt shell` connects to: `--socket`, else the config's `admin_socket`.
pub fn socket_for(config: &crate::config::Config, given: Option<PathBuf>) -> PathBuf {
    match given {
        Some(p) => super::resolve(config, &p),
        None => super::socket_path(config),
    }
}
