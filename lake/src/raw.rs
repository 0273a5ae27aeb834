//! The raw layer: every accepted event as the ingest enriched it, one JSON object per line, under
//! `raw/dt=YYYY-MM-DD/` by the UTC day it was received. Firehose writes the same layout in AWS
//! (prefix `raw/dt=!{timestamp:yyyy-MM-dd}/`, newline-delimited, optionally gzip), so a copy of
//! the bucket's `raw/` builds locally too (the local `events` table reads `.jsonl` files only).
//!
//! Locally the writer tails the event log (see the `shopstream` binary) and remembers how far it got
//! in `raw/_position`. A file is named by its first event's log position, so writing the same
//! events again (after a crash between the file and the position) replaces the file rather than
//! adding one; the curated build removes any duplicate left by `event_id`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{date_string, day_of, io_err, write_atomic, Lake, LakeError};

/// The raw writer's position file, in `raw/` (`_` files are not data).
pub const POSITION_FILE: &str = "_position";

/// Appends events to the raw layer.
#[derive(Clone, Debug)]
pub struct RawWriter {
    lake: Lake,
}

/// What one write did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawWrite {
    pub events: usize,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

#[derive(Deserialize)]
struct Times<'a> {
    #[serde(borrow, default)]
    received_at: Option<&'a str>,
    #[serde(borrow, default)]
    occurred_at: Option<&'a str>,
}

/// The UTC day an enriched event was received (its `occurred_at` if it has no `received_at`).
pub fn received_day(json: &str) -> Option<i32> {
    let t: Times<'_> = serde_json::from_str(json).ok()?;
    let s = t.received_at.or(t.occurred_at)?;
    event_schema::Timestamp::parse_rfc3339(s).map(|t| day_of(t.0))
}

impl RawWriter {
    pub fn new(lake: Lake) -> RawWriter {
        RawWriter { lake }
    }

    /// Holds the raw layer's lock until dropped: copy (read the position, write, move it) under it,
    /// so two writers (the server's task and `lake build`) never interleave.
    pub fn lock(&self) -> Result<std::fs::File, LakeError> {
        crate::lock_dir(&self.lake.raw_dir())
    }

    /// The log position of the last event written (0: none).
    pub fn position(&self) -> Result<i64, LakeError> {
        let path = self.lake.raw_dir().join(POSITION_FILE);
        match std::fs::read_to_string(&path) {
            Ok(s) => s
                .trim()
                .parse()
                .map_err(|_| LakeError::Data { path, message: format!("not a position: {:?}", s.trim()) }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(LakeError::Io { path, source: e }),
        }
    }

    /// Writes `events` ((log position, enriched JSON), in log order): one file per received day,
    /// each synced, then the position. Returns only once both are durable.
    pub fn write(&self, events: &[(i64, &str)]) -> Result<RawWrite, LakeError> {
        let mut by_day: BTreeMap<i32, (i64, String)> = BTreeMap::new();
        let mut out = RawWrite::default();
        for (seq, json) in events {
            let json = json.trim_end();
            let Some(day) = received_day(json) else {
                return Err(LakeError::Data {
                    path: self.lake.raw_dir(),
                    message: format!("event at log position {seq} has no readable received_at"),
                });
            };
            let (_, lines) = by_day.entry(day).or_insert_with(|| (*seq, String::new()));
            lines.push_str(json);
            lines.push('\n');
            out.events += 1;
        }
        for (day, (first, lines)) in by_day {
            let path =
                self.lake.raw_dir().join(format!("dt={}", date_string(day))).join(format!("part-{first:016}.jsonl"));
            write_atomic(&path, lines.as_bytes())?;
            out.bytes += lines.len() as u64;
            out.files.push(path);
        }
        if let Some((last, _)) = events.last() {
            write_atomic(&self.lake.raw_dir().join(POSITION_FILE), last.to_string().as_bytes())?;
        }
        Ok(out)
    }
}

/// One raw file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawFile {
    pub path: PathBuf,
    pub size: u64,
}

/// The raw layer's data files by day (`YYYY-MM-DD`), in name order: `*.jsonl`, `*.json` and their
/// `.gz`; hidden and `_` files are skipped.
pub fn raw_files(lake: &Lake) -> Result<BTreeMap<String, Vec<RawFile>>, LakeError> {
    let mut days = BTreeMap::new();
    let raw = lake.raw_dir();
    let entries = match std::fs::read_dir(&raw) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(days),
        Err(e) => return Err(LakeError::Io { path: raw, source: e }),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(&raw))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(day) = name.strip_prefix("dt=") else { continue };
        if crate::parse_date(day).is_none() || !entry.path().is_dir() {
            continue;
        }
        let mut files = Vec::new();
        let dir = entry.path();
        for f in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let f = f.map_err(io_err(&dir))?;
            let fname = f.file_name().to_string_lossy().into_owned();
            if fname.starts_with('.') || fname.starts_with('_') || !is_data_file(&fname) {
                continue;
            }
            let size = f.metadata().map_err(io_err(&f.path()))?.len();
            files.push(RawFile { path: f.path(), size });
        }
        files.sort();
        if !files.is_empty() {
            days.insert(day.to_string(), files);
        }
    }
    Ok(days)
}

/// Whether a raw file's name is data: `*.jsonl`, `*.json`, no extension (Firehose's objects), or
/// one of those gzipped. (Names starting with `.` or `_` are never data.)
pub fn is_data_file(name: &str) -> bool {
    if name.starts_with('.') || name.starts_with('_') {
        return false;
    }
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.ends_with(".jsonl") || name.ends_with(".json") || !name.contains('.')
}

/// Reads a raw file's lines (inflating `.gz`), calling `line` for each non-empty one.
pub fn read_lines(path: &Path, mut line: impl FnMut(&str)) -> Result<(), LakeError> {
    use std::io::{BufRead, BufReader, Read};
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        let l = buf.trim();
        if !l.is_empty() {
            line(l);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_land_by_received_day_and_a_rewrite_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path());
        let w = RawWriter::new(lake.clone());
        assert_eq!(w.position().unwrap(), 0);
        let a = r#"{"event_id":"a","occurred_at":"2026-11-20T23:59:59Z","received_at":"2026-11-21T00:00:01Z"}"#;
        let b = r#"{"event_id":"b","occurred_at":"2026-11-21T10:00:00Z","received_at":"2026-11-21T10:00:00Z"}"#;
        let c = r#"{"event_id":"c","occurred_at":"2026-11-22T10:00:00Z","received_at":"2026-11-22T10:00:00.5+00:00"}"#;
        let wrote = w.write(&[(7, a), (8, b), (9, c)]).unwrap();
        assert_eq!(wrote.events, 3);
        assert_eq!(w.position().unwrap(), 9);
        let files = raw_files(&lake).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["2026-11-21", "2026-11-22"]);
        assert!(files["2026-11-21"][0].path.ends_with("dt=2026-11-21/part-0000000000000007.jsonl"));
        let mut lines = Vec::new();
        read_lines(&files["2026-11-21"][0].path, |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, [a, b]);
        // The same events again (a crash before the position moved): the same files, no more.
        w.write(&[(7, a), (8, b), (9, c)]).unwrap();
        assert_eq!(raw_files(&lake).unwrap()["2026-11-21"].len(), 1);
        assert!(w.write(&[(10, "{}")]).is_err(), "no time: refused, nothing written");
        assert_eq!(w.position().unwrap(), 9);
    }
}
