//! A minimal blocking HTTP/1.1 client over one keep-alive connection: enough for `GET` and `POST`
//! against the local server (answers carry `Content-Length`; axum's JSON answers do). Kept small so
//! its own cost is clearly below the server's, and so nothing in the server's dependency tree
//! changes features because of the benchmark.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::CHROME_UA;

pub struct Connection {
    addr: String,
    stream: TcpStream,
    buf: Vec<u8>,
}

/// An answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Connection {
    pub fn open(addr: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Connection { addr: addr.to_string(), stream, buf: Vec::with_capacity(16 * 1024) })
    }

    pub fn get(&mut self, path: &str) -> anyhow::Result<Answer> {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {CHROME_UA}\r\nAccept: application/json\r\n\r\n",
            self.addr
        );
        self.stream.write_all(head.as_bytes())?;
        self.read_answer()
    }

    pub fn post(&mut self, path: &str, content_type: &str, body: &[u8]) -> anyhow::Result<Answer> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {CHROME_UA}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        self.stream.write_all(head.as_bytes())?;
        self.stream.write_all(body)?;
        self.read_answer()
    }

    fn read_answer(&mut self) -> anyhow::Result<Answer> {
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                bail!("connection closed before the answer's head");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).context("answer head is not UTF-8")?;
        let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no status")?;
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .context("answer without Content-Length")?;
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                bail!("connection closed inside the answer's body");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(Answer { status, body: self.buf[head_end..head_end + length].to_vec() })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `strategy` of a recommendations answer, without parsing the whole body.
pub fn strategy_of(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"strategy\":\"")? + "\"strategy\":\"".len();
    let end = text[start..].find('"')? + start;
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strategy_is_found_in_an_answer() {
        let body = br#"{"recommendation_id":"x","placement":"home","strategy":"personalized","items":[]}"#;
        assert_eq!(strategy_of(body), Some("personalized"));
        assert_eq!(strategy_of(b"{}"), None);
    }
}
