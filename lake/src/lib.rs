//! The data lake, in files, the same layout locally and in S3:
//!
//! ```text
//! raw/dt=YYYY-MM-DD/*.jsonl[.gz]     every accepted event, one enriched JSON object per line, by the
//!                                    UTC day it was received (Firehose writes the same in AWS)
//! reference/products.jsonl           the product and store dimensions' sources (optional: the
//! reference/stores.jsonl             caller gives defaults)
//! curated/<table>/dt=YYYY-MM-DD/part-0.parquet   facts, by the day received (zstd)
//! curated/<table>/part-0.parquet                 dimensions
//! curated/_manifest.json             which raw files each curated day was built from
//! ```
//!
//! [`raw::RawWriter`] appends to the raw layer, [`curated::build`] brings the curated star schema up
//! to date (idempotent: a day is rebuilt only when its raw files changed), and [`query::LakeQuery`]
//! runs SQL over both with DataFusion. Files whose name starts with `_` or `.` are not data (Athena
//! skips them too).

pub mod curated;
#[cfg(feature = "query")]
pub mod query;
pub mod raw;
pub mod reference;
pub mod schema;

use std::path::{Path, PathBuf};

/// A lake's root directory.
#[derive(Clone, Debug)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    pub fn new(root: impl Into<PathBuf>) -> Lake {
        Lake { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn raw_dir(&self) -> PathBuf {
        self.root.join("raw")
    }

    pub fn curated_dir(&self) -> PathBuf {
        self.root.join("curated")
    }

    pub fn reference_dir(&self) -> PathBuf {
        self.root.join("reference")
    }
}

/// What can go wrong with the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[cfg(feature = "query")]
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io { path: path.to_path_buf(), source }
}

/// A hidden temporary name beside `path`, unique to this process and call (two writers never
/// share one).
pub(crate) fn temp_beside(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// An exclusive advisory lock on `dir/_lock` (created if missing), held until dropped: one raw
/// writer, one curated build at a time, across processes (`serve` and the command line).
pub(crate) fn lock_dir(dir: &Path) -> Result<std::fs::File, LakeError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join("_lock");
    let file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_err(&path))?;
    file.lock().map_err(io_err(&path))?;
    Ok(file)
}

/// Writes `bytes` to `path` atomically: a hidden temporary file beside it, synced, then renamed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = temp_beside(path);
    let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Days since 1970-01-01 of a time in ms (UTC).
pub fn day_of(ms: i64) -> i32 {
    ms.div_euclid(86_400_000) as i32
}

/// `YYYY-MM-DD` of a day number.
pub fn date_string(day: i32) -> String {
    let (y, m, d) = civil_from_days(day as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` to a day number.
pub fn parse_date(s: &str) -> Option<i32> {
    let t = event_schema::Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z"))?;
    Some(day_of(t.0))
}

/// (year, month, day) of a day number (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
