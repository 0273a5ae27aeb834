//! The lake's curated build as an AWS Lambda, run hourly by EventBridge Scheduler: the same
//! [`lake::curated`] build the command line runs, over a copy of the bucket in the function's `/tmp`.
//!
//! - [`LakeJobConfig::from_vars`] turns the function's environment (passed in by `main`; this
//!   library reads no environment variable) into settings, refusing bad ones at cold start.
//! - [`run`], one invocation (whatever the event says):
//!   1. lists `{prefix}raw/` (the objects Firehose writes, `raw/dt=YYYY-MM-DD/<name>`, data files by
//!      the rule of [`lake::raw::raw_files`]) into the listing the build plans with, every file at
//!      the place it *would* be downloaded to;
//!   2. downloads `{prefix}curated/_manifest.json` (absent on the first run) and the reference files
//!      (`{prefix}reference/products.jsonl`, `stores.jsonl`; absent: empty dimensions);
//!   3. plans with [`lake::curated::plan`] and downloads only the raw objects of the days to build
//!      (a few at a time, streamed to files);
//!   4. builds with [`lake::curated::execute`];
//!   5. uploads every built day's three fact files, deletes the removed days' fact objects, uploads
//!      the dimensions that changed and, last, the manifest. A failure before the manifest leaves the
//!      old one in the bucket, so the next run builds those days again: the job is idempotent.
//!
//!   The work directory's `lake/` is removed before and after (Lambda keeps `/tmp` between
//!   invocations of one instance).
//! - An S3 failure is a [`JobError`] naming the operation and the object; the invocation fails and
//!   EventBridge Scheduler retries it.
//!
//! One build at a time: the manifest is read at the start and written at the end, so two runs at
//! once would each write their own view. The function's reserved concurrency should be 1.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use lake::curated::{BuildReport, MANIFEST_FILE};
use lake::raw::RawFile;
use lake::reference::{Reference, PRODUCTS_FILE, STORES_FILE};
use lake::schema::Table;
use lake::Lake;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

/// Environment variables the function reads (set by the CDK stack).
pub mod vars {
    /// The lake's bucket (raw, reference and curated layers). Required.
    pub const LAKE_BUCKET: &str = "SHOPSTREAM_LAKE_BUCKET";
    /// The lake's key prefix in the bucket, ending with `/` (one is added if missing). Optional:
    /// the lake is at the bucket's root by default.
    pub const LAKE_PREFIX: &str = "SHOPSTREAM_LAKE_PREFIX";
    /// Set by Lambda.
    pub const AWS_REGION: &str = "AWS_REGION";
}

/// How many objects are downloaded or uploaded at once.
pub const TRANSFER_CONCURRENCY: usize = 8;
/// The user metadata (`x-amz-meta-…`) holding an uploaded file's SHA-256, so a dimension that did
/// not change is not uploaded again.
pub const SHA256_METADATA: &str = "content-sha256";
pub const PARQUET_CONTENT_TYPE: &str = "application/vnd.apache.parquet";
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The function's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LakeJobConfig {
    pub bucket: String,
    /// Empty, or ending with `/`.
    pub prefix: String,
    /// The bucket's region (Lambda's own when `None`).
    pub region: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl LakeJobConfig {
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let vars: HashMap<String, String> = vars.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_string());

        let bucket = get(vars::LAKE_BUCKET).ok_or_else(|| ConfigError(format!("{} is required", vars::LAKE_BUCKET)))?;
        if let Err(why) = check_bucket_name(&bucket) {
            return Err(ConfigError(format!("{}: {bucket:?} is not an S3 bucket name: {why}", vars::LAKE_BUCKET)));
        }
        let prefix = match get(vars::LAKE_PREFIX) {
            None => String::new(),
            Some(p) if p.starts_with('/') => {
                return Err(ConfigError(format!(
                    "{}: {p:?} starts with '/' (S3 keys have no leading slash: write {:?})",
                    vars::LAKE_PREFIX,
                    p.trim_start_matches('/')
                )))
            }
            Some(p) if p.ends_with('/') => p,
            Some(p) => format!("{p}/"),
        };
        Ok(LakeJobConfig { bucket, prefix, region: get(vars::AWS_REGION) })
    }
}

/// S3's rules for a general purpose bucket's name: 3 to 63 of a-z, 0-9, '.', '-', starting and
/// ending with a letter or digit, no `..`, not an IP address, none of the reserved prefixes and
/// suffixes.
pub fn check_bucket_name(name: &str) -> Result<(), &'static str> {
    if !(3..=63).contains(&name.len()) {
        return Err("3 to 63 characters");
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-') {
        return Err("only a-z, 0-9, '.' and '-'");
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Err("starts and ends with a letter or digit");
    }
    if name.contains("..") {
        return Err("no two adjacent periods");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("not an IP address");
    }
    if ["xn--", "sthree-", "amzn-s3-demo-"].iter().any(|p| name.starts_with(p))
        || ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].iter().any(|s| name.ends_with(s))
    {
        return Err("a reserved prefix or suffix");
    }
    Ok(())
}

/// What can fail in a run.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("S3 {operation} s3://{bucket}/{key}: {message}")]
    S3 { operation: &'static str, bucket: String, key: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Lake(#[from] lake::LakeError),
    #[error("a task of the build stopped: {0}")]
    Task(String),
}

/// What a run did: the build's report and the transfers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobReport {
    #[serde(flatten)]
    pub build: BuildReport,
    /// Raw objects under `raw/`, data files only, and the days they fall on.
    pub raw_objects: usize,
    pub raw_days: usize,
    /// Raw objects copied to the work directory (those of the days built).
    pub raw_objects_downloaded: usize,
    pub raw_bytes_downloaded: u64,
    /// Objects written to `curated/` (Parquet and the manifest) and their bytes.
    pub objects_uploaded: usize,
    pub bytes_uploaded: u64,
    /// Objects of removed days deleted from `curated/`.
    pub objects_deleted: usize,
}

impl JobReport {
    /// Logs the report as one line, a field per figure.
    pub fn log(&self) {
        let b = &self.build;
        tracing::info!(
            days_built = b.days_built,
            days_unchanged = b.days_unchanged,
            days_removed = b.days_removed,
            events = b.events,
            duplicate_events = b.duplicate_events,
            duplicate_orders = b.duplicate_orders,
            bad_lines = b.bad_lines,
            sales_lines = b.sales_lines,
            snapshot_rows = b.snapshot_rows,
            raw_bytes = b.raw_bytes,
            curated_bytes = b.curated_bytes,
            raw_objects = self.raw_objects,
            raw_days = self.raw_days,
            raw_objects_downloaded = self.raw_objects_downloaded,
            raw_bytes_downloaded = self.raw_bytes_downloaded,
            objects_uploaded = self.objects_uploaded,
            bytes_uploaded = self.bytes_uploaded,
            objects_deleted = self.objects_deleted,
            "lake built"
        );
    }
}

/// The function's handler: any event (EventBridge Scheduler sends `{}` or its scheduled event; the
/// job reads what to do from the bucket) runs [`run`]; the report is logged and is the answer.
pub async fn handle(
    s3: &aws_sdk_s3::Client,
    config: &LakeJobConfig,
    work_dir: &Path,
    event: serde_json::Value,
) -> Result<serde_json::Value, JobError> {
    let source = event.get("source").and_then(|s| s.as_str()).unwrap_or("");
    tracing::info!(bucket = config.bucket, prefix = config.prefix, source, "lake build started");
    let report = run(s3, config, work_dir)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "lake build failed: the invocation fails and is retried"))?;
    report.log();
    Ok(serde_json::to_value(&report).expect("plain data serialises"))
}

/// One build of the lake in `config.bucket` under `config.prefix`, through a copy in
/// `work_dir/lake/` (removed before and after).
pub async fn run(s3: &aws_sdk_s3::Client, config: &LakeJobConfig, work_dir: &Path) -> Result<JobReport, JobError> {
    let lake = Lake::new(work_dir.join("lake"));
    remove_dir(lake.root()).await?;
    let result = Job { s3, bucket: &config.bucket, prefix: &config.prefix, lake: &lake }.run().await;
    let cleaned = remove_dir(lake.root()).await;
    let report = result?;
    cleaned?;
    Ok(report)
}

struct Job<'a> {
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    prefix: &'a str,
    lake: &'a Lake,
}

/// The raw files by day, as [`lake::raw::raw_files`] gives them.
type Listing = BTreeMap<String, Vec<RawFile>>;

/// A raw object: its key and where it goes.
struct RawObject {
    key: String,
    path: PathBuf,
}

impl Job<'_> {
    async fn run(&self) -> Result<JobReport, JobError> {
        let mut report = JobReport::default();
        let (listing, objects) = self.list_raw().await?;
        report.raw_objects = objects.len();
        report.raw_days = listing.len();

        let manifest_key = self.key(&format!("curated/{MANIFEST_FILE}"));
        let manifest_path = self.lake.curated_dir().join(MANIFEST_FILE);
        let old_manifest = match self.download_if_exists(&manifest_key, &manifest_path).await? {
            Some(_) => Some(tokio::fs::read(&manifest_path).await.map_err(io_err(&manifest_path))?),
            None => {
                tracing::info!(key = manifest_key, "no manifest yet: every day is built");
                None
            }
        };
        for name in [PRODUCTS_FILE, STORES_FILE] {
            let key = self.key(&format!("reference/{name}"));
            if self.download_if_exists(&key, &self.lake.reference_dir().join(name)).await?.is_none() {
                tracing::warn!(key, "no reference file: its dimension is empty");
            }
        }
        let reference = Reference::load(self.lake, &Reference::default())?;

        let plan = lake::curated::plan(self.lake, &listing, false)?;
        let (built, removed) = (plan.build.clone(), plan.remove.clone());
        tracing::info!(build = ?built, keep = plan.keep.len(), remove = ?removed, "planned");

        let downloads: Vec<&RawObject> =
            built.iter().flat_map(|day| listing.get(day).into_iter().flatten()).map(|f| &objects[&f.path]).collect();
        for size in self.download_all(&downloads).await? {
            report.raw_objects_downloaded += 1;
            report.raw_bytes_downloaded += size;
        }

        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let lake = self.lake.clone();
        report.build =
            tokio::task::spawn_blocking(move || lake::curated::execute(&lake, &listing, plan, &reference, threads))
                .await
                .map_err(|e| JobError::Task(e.to_string()))??;

        // The facts of the days built (all of them: a day is built only when its files changed).
        let mut uploads = Vec::new();
        for day in &built {
            for table in Table::ALL.iter().filter(|t| t.partitioned()) {
                let rel = format!("{}/dt={day}/part-0.parquet", table.name());
                uploads.push((self.key(&format!("curated/{rel}")), self.lake.curated_dir().join(rel)));
            }
        }
        for (size, _) in self.upload_all(uploads, false).await? {
            report.objects_uploaded += 1;
            report.bytes_uploaded += size;
        }
        for day in &removed {
            for table in Table::ALL.iter().filter(|t| t.partitioned()) {
                report.objects_deleted +=
                    self.delete_under(&self.key(&format!("curated/{}/dt={day}/", table.name()))).await?;
            }
        }
        // The dimensions, rewritten by every build: uploaded only when they differ from the bucket's.
        let dims = Table::ALL
            .iter()
            .filter(|t| !t.partitioned())
            .map(|t| {
                let rel = format!("{}/part-0.parquet", t.name());
                (self.key(&format!("curated/{rel}")), self.lake.curated_dir().join(rel))
            })
            .collect();
        for (size, uploaded) in self.upload_all(dims, true).await? {
            if uploaded {
                report.objects_uploaded += 1;
                report.bytes_uploaded += size;
            }
        }
        // Last: the manifest says the days above are done.
        let manifest = tokio::fs::read(&manifest_path).await.map_err(io_err(&manifest_path))?;
        if old_manifest.as_deref() != Some(manifest.as_slice()) {
            report.bytes_uploaded += self.upload(&manifest_key, &manifest_path, JSON_CONTENT_TYPE, None).await?;
            report.objects_uploaded += 1;
        }
        Ok(report)
    }

    fn key(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    fn s3_err<E>(&self, operation: &'static str, key: &str) -> impl FnOnce(E) -> JobError + '_
    where
        E: std::error::Error + 'static,
    {
        let key = key.to_string();
        move |e| JobError::S3 {
            operation,
            bucket: self.bucket.to_string(),
            key,
            message: DisplayErrorContext(e).to_string(),
        }
    }

    /// The raw layer's data files by day, each at the path it is downloaded to, and the object
    /// behind each path.
    async fn list_raw(&self) -> Result<(Listing, HashMap<PathBuf, RawObject>), JobError> {
        let raw_prefix = self.key("raw/");
        let mut listing = Listing::new();
        let mut objects = HashMap::new();
        let mut pages = self.s3.list_objects_v2().bucket(self.bucket).prefix(&raw_prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(self.s3_err("ListObjectsV2", &raw_prefix))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some((day, name)) = key.strip_prefix(&raw_prefix).and_then(raw_day_and_name) else { continue };
                let path = self.lake.raw_dir().join(format!("dt={day}")).join(name);
                let size = object.size().unwrap_or(0).max(0) as u64;
                listing.entry(day.to_string()).or_default().push(RawFile { path: path.clone(), size });
                objects.insert(path.clone(), RawObject { key: key.to_string(), path });
            }
        }
        for files in listing.values_mut() {
            files.sort();
        }
        Ok((listing, objects))
    }

    /// Copies an object to `path`; `None` if there is no such object.
    async fn download_if_exists(&self, key: &str, path: &Path) -> Result<Option<u64>, JobError> {
        match download(self.s3, self.bucket, key, path).await {
            Ok(size) => Ok(Some(size)),
            Err(Download::NoSuchKey) => Ok(None),
            Err(Download::Failed(e)) => Err(e),
        }
    }

    /// Copies the objects, [`TRANSFER_CONCURRENCY`] at a time; their sizes.
    async fn download_all(&self, objects: &[&RawObject]) -> Result<Vec<u64>, JobError> {
        let mut sizes = Vec::with_capacity(objects.len());
        let mut tasks = JoinSet::new();
        let mut queue = objects.iter();
        loop {
            while tasks.len() < TRANSFER_CONCURRENCY {
                let Some(object) = queue.next() else { break };
                let (s3, bucket, key, path) =
                    (self.s3.clone(), self.bucket.to_string(), object.key.clone(), object.path.clone());
                tasks.spawn(async move {
                    download(&s3, &bucket, &key, &path).await.map_err(|e| match e {
                        Download::Failed(e) => e,
                        Download::NoSuchKey => JobError::S3 {
                            operation: "GetObject",
                            bucket,
                            key,
                            message: "the object was deleted after it was listed".into(),
                        },
                    })
                });
            }
            match tasks.join_next().await {
                Some(done) => sizes.push(done.map_err(|e| JobError::Task(e.to_string()))??),
                None => return Ok(sizes),
            }
        }
    }

    /// Uploads `(key, path)` pairs, [`TRANSFER_CONCURRENCY`] at a time, as Parquet. With
    /// `if_changed`, a file whose SHA-256 the object already has is not uploaded. Returns each
    /// file's size and whether it was uploaded.
    async fn upload_all(&self, files: Vec<(String, PathBuf)>, if_changed: bool) -> Result<Vec<(u64, bool)>, JobError> {
        let mut out = Vec::with_capacity(files.len());
        let mut tasks = JoinSet::new();
        let mut queue = files.into_iter();
        loop {
            while tasks.len() < TRANSFER_CONCURRENCY {
                let Some((key, path)) = queue.next() else { break };
                let job = Owned { s3: self.s3.clone(), bucket: self.bucket.to_string() };
                tasks.spawn(async move { job.put_parquet(key, path, if_changed).await });
            }
            match tasks.join_next().await {
                Some(done) => out.push(done.map_err(|e| JobError::Task(e.to_string()))??),
                None => return Ok(out),
            }
        }
    }

    async fn upload(
        &self,
        key: &str,
        path: &Path,
        content_type: &str,
        sha256: Option<String>,
    ) -> Result<u64, JobError> {
        upload(self.s3, self.bucket, key, path, content_type, sha256).await
    }

    /// Deletes every object under `prefix`; how many.
    async fn delete_under(&self, prefix: &str) -> Result<usize, JobError> {
        let mut keys = Vec::new();
        let mut pages = self.s3.list_objects_v2().bucket(self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(self.s3_err("ListObjectsV2", prefix))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
        }
        for key in &keys {
            self.s3
                .delete_object()
                .bucket(self.bucket)
                .key(key)
                .send()
                .await
                .map_err(self.s3_err("DeleteObject", key))?;
        }
        Ok(keys.len())
    }
}

/// What an upload task owns.
struct Owned {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl Owned {
    async fn put_parquet(self, key: String, path: PathBuf, if_changed: bool) -> Result<(u64, bool), JobError> {
        let (hash, size) = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || sha256_file(&path))
                .await
                .map_err(|e| JobError::Task(e.to_string()))??
        };
        if if_changed {
            match self.s3.head_object().bucket(&self.bucket).key(&key).send().await {
                Ok(head) if head.metadata().and_then(|m| m.get(SHA256_METADATA)) == Some(&hash) => {
                    return Ok((size, false))
                }
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {}
                Err(e) => {
                    return Err(JobError::S3 {
                        operation: "HeadObject",
                        bucket: self.bucket,
                        key,
                        message: DisplayErrorContext(e).to_string(),
                    })
                }
            }
        }
        upload(&self.s3, &self.bucket, &key, &path, PARQUET_CONTENT_TYPE, Some(hash)).await?;
        Ok((size, true))
    }
}

enum Download {
    NoSuchKey,
    Failed(JobError),
}

/// Streams an object's body to `path` (its directory made); the bytes written.
async fn download(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, path: &Path) -> Result<u64, Download> {
    let failed = |operation: &'static str, message: String| {
        Download::Failed(JobError::S3 { operation, bucket: bucket.to_string(), key: key.to_string(), message })
    };
    let object = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Err(Download::NoSuchKey),
        Err(e) => return Err(failed("GetObject", DisplayErrorContext(e).to_string())),
    };
    let io = |e| Download::Failed(io_err(path)(e));
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(|e| Download::Failed(io_err(dir)(e)))?;
    }
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut body = object.body;
    let mut written = 0u64;
    loop {
        match body.try_next().await {
            Ok(Some(bytes)) => {
                file.write_all(&bytes).await.map_err(io)?;
                written += bytes.len() as u64;
            }
            Ok(None) => break,
            Err(e) => return Err(failed("GetObject (reading the body)", DisplayErrorContext(e).to_string())),
        }
    }
    file.flush().await.map_err(io)?;
    Ok(written)
}

/// Puts the file at `path` as `key`, with its SHA-256 in the object's metadata when given; its size.
async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    content_type: &str,
    sha256: Option<String>,
) -> Result<u64, JobError> {
    let size = tokio::fs::metadata(path).await.map_err(io_err(path))?.len();
    let body = ByteStream::from_path(path).await.map_err(|e| JobError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(DisplayErrorContext(e).to_string()),
    })?;
    let mut put = s3.put_object().bucket(bucket).key(key).content_type(content_type).body(body);
    if let Some(hash) = sha256 {
        put = put.metadata(SHA256_METADATA, hash);
    }
    put.send().await.map_err(|e| JobError::S3 {
        operation: "PutObject",
        bucket: bucket.to_string(),
        key: key.to_string(),
        message: DisplayErrorContext(e).to_string(),
    })?;
    Ok(size)
}

/// A file's SHA-256 in lowercase hex, and its size.
fn sha256_file(path: &Path) -> Result<(String, u64), JobError> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let hex = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, size))
}

/// `dt=YYYY-MM-DD/<name>` (a key under `raw/`) → (day, name), for data files only: the rule of
/// [`lake::raw::raw_files`] (names starting with `.` or `_` are not data; `*.jsonl`, `*.json`, names
/// without an extension, as Firehose writes them, and the `.gz` of each are). Deeper keys, keys of
/// "folders" and days that are not dates are skipped, as the local listing skips them.
pub fn raw_day_and_name(rel: &str) -> Option<(&str, &str)> {
    let (dir, name) = rel.split_once('/')?;
    let day = dir.strip_prefix("dt=")?;
    lake::parse_date(day)?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    lake::raw::is_data_file(name).then_some((day, name))
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> JobError + '_ {
    move |source| JobError::Io { path: path.to_path_buf(), source }
}

async fn remove_dir(dir: &Path) -> Result<(), JobError> {
    match tokio::fs::remove_dir_all(dir).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(dir)(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_environment_is_read_and_the_prefix_normalised() {
        let config =
            LakeJobConfig::from_vars(vars(&[(vars::LAKE_BUCKET, "shopstream-lake"), (vars::AWS_REGION, "eu-west-1")]))
                .unwrap();
        assert_eq!(
            config,
            LakeJobConfig { bucket: "shopstream-lake".into(), prefix: String::new(), region: Some("eu-west-1".into()) }
        );
        let prefix = |p: &str| {
            LakeJobConfig::from_vars(vars(&[(vars::LAKE_BUCKET, "lake.example-1"), (vars::LAKE_PREFIX, p)]))
                .map(|c| c.prefix)
        };
        assert_eq!(prefix("lake").unwrap(), "lake/");
        assert_eq!(prefix("lake/").unwrap(), "lake/");
        assert_eq!(prefix(" env/prod ").unwrap(), "env/prod/");
        assert_eq!(prefix("  ").unwrap(), "", "blank is absent");
        assert!(prefix("/lake").unwrap_err().to_string().contains("starts with '/'"));
    }

    #[test]
    fn a_missing_or_bad_bucket_is_refused_at_cold_start() {
        let err = |pairs: &[(&str, &str)]| LakeJobConfig::from_vars(vars(pairs)).unwrap_err().to_string();
        assert!(err(&[]).contains("SHOPSTREAM_LAKE_BUCKET is required"));
        assert!(err(&[(vars::LAKE_BUCKET, " ")]).contains("is required"));
        for bad in [
            "ab",
            "Shopstream",
            "lake_bucket",
            "-lake",
            "lake-",
            "a..b",
            "192.168.1.1",
            "xn--lake",
            "lake-s3alias",
            "s3://lake",
            &"a".repeat(64),
        ] {
            assert!(err(&[(vars::LAKE_BUCKET, bad)]).contains("is not an S3 bucket name"), "{bad}");
        }
        for good in ["abc", "my.lake-2026", &"a".repeat(63)] {
            assert!(check_bucket_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn raw_keys_are_read_by_the_rule_of_the_local_listing() {
        let ok = raw_day_and_name;
        assert_eq!(ok("dt=2026-11-02/part-1.jsonl"), Some(("2026-11-02", "part-1.jsonl")));
        assert_eq!(ok("dt=2026-11-02/a.json.gz"), Some(("2026-11-02", "a.json.gz")));
        assert_eq!(
            ok("dt=2026-11-02/shopstream-raw-1-2026-11-02-10-00-00-uuid.gz"),
            Some(("2026-11-02", "shopstream-raw-1-2026-11-02-10-00-00-uuid.gz"))
        );
        assert_eq!(
            ok("dt=2026-11-02/shopstream-raw-1-2026-11-02-10-00-00-uuid"),
            Some(("2026-11-02", "shopstream-raw-1-2026-11-02-10-00-00-uuid"))
        );
        for skipped in [
            "dt=2026-11-02/",
            "dt=2026-11-02/_SUCCESS",
            "dt=2026-11-02/.part.tmp",
            "dt=2026-11-02/notes.txt",
            "dt=2026-11-02/deeper/a.jsonl",
            "dt=2026-13-02/a.jsonl",
            "dt=../a.jsonl",
            "2026-11-02/a.jsonl",
            "a.jsonl",
        ] {
            assert_eq!(ok(skipped), None, "{skipped}");
        }
    }
}
