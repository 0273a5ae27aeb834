//! Test harness, used only as a dev-dependency: a [`Moto`] server (the AWS wire-protocol
//! emulator) on a free port of 127.0.0.1, started by the tests themselves and stopped with them.
//!
//! `cargo xtask setup` installs moto into a virtualenv under the tools cache and `cargo xtask test`
//! passes its path as `SHOPSTREAM_MOTO_SERVER`; a plain `cargo test` finds the same install at
//! `~/.cache/shopstream/moto/bin/moto_server`. Being a test harness, not a library of the product,
//! this crate reads those two environment variables (ARCHITECTURE.md).
//!
//! The server is watched by a tiny shell that holds a pipe from the test process: when the test
//! process ends, however it ends (even `kill -9`), the pipe closes and the shell stops moto, so no
//! emulator outlives its tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The moto version `cargo xtask setup` installs.
pub const MOTO_VERSION: &str = "5.2.5";

/// A running moto server. Dropping it stops the server.
pub struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    /// The server shared by every test of this test binary (started on first use). Tests keep
    /// apart by naming their resources uniquely ([`unique`]).
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| Moto::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts a new server on a free port and waits until it answers.
    pub fn start() -> Result<Moto, String> {
        let server = moto_server_path()?;
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port().map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
            // moto runs in the background; `cat` holds this process's pipe and returns when it closes.
            let script = r#"server=$1; port=$2; "$server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 </dev/null & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid 2>/dev/null"#;
            let child = Command::new("sh")
                .args(["-c", script, "moto-watch"])
                .arg(&server)
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
            let mut moto = Moto { child, port };
            match moto.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return Ok(moto),
                Err(e) => {
                    last = e;
                    moto.stop();
                }
            }
        }
        Err(format!("moto server did not start: {last}"))
    }

    /// `http://127.0.0.1:<port>`, the `endpoint_url` for the AWS SDK clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Clears all of the server's state (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<(), String> {
        match http(self.port, "POST", "/moto-api/reset") {
            Ok(200) => Ok(()),
            Ok(status) => Err(format!("moto reset answered {status}")),
            Err(e) => Err(format!("moto reset: {e}")),
        }
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the watcher exited early ({status})"));
            }
            if let Ok(200) = http(self.port, "GET", "/moto-api/") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("no answer on port {} after {timeout:?}", self.port))
    }

    fn stop(&mut self) {
        drop(self.child.stdin.take()); // EOF: the watcher kills moto and exits
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A name no other test of this run uses (moto's state is shared by a test binary's tests).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{}-{}", std::process::id(), nanos % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

/// Where moto_server is: `$SHOPSTREAM_MOTO_SERVER`, else the install `cargo xtask setup` makes.
pub fn moto_server_path() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("SHOPSTREAM_MOTO_SERVER") {
        return Ok(PathBuf::from(path));
    }
    let cache = match std::env::var_os("SHOPSTREAM_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").ok_or("HOME is not set")?).join(".cache/shopstream"),
    };
    let path = cache.join("moto/bin/moto_server");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "moto is not installed at {}: run `cargo xtask setup` (or set SHOPSTREAM_MOTO_SERVER)",
            path.display()
        ))
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A minimal HTTP/1.1 request; returns the status code.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 32];
    let n = stream.read(&mut head)?;
    let line = std::str::from_utf8(&head[..n]).unwrap_or("");
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {line:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_resets_and_stops() {
        let moto = Moto::start().unwrap();
        let port = moto.port();
        assert_eq!(http(port, "GET", "/moto-api/").unwrap(), 200);
        moto.reset().unwrap();
        drop(moto);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "moto still listens after drop");
    }
}
