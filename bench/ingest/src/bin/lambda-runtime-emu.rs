//! `lambda-runtime-emu`: times the ingest Lambda from process start to its first answer.
//!
//! A minimal Lambda Runtime API (`GET /2018-06-01/runtime/invocation/next`, `POST
//! .../invocation/<id>/response`, `.../error`, `/init/error`) on 127.0.0.1 hands the function one
//! API Gateway REST proxy event carrying a 100-event batch (fresh ids each run), and a timing proxy
//! sits between the function and moto (`AWS_ENDPOINT_URL`), so the PutRecords round trip can be
//! told apart from the function's own time. Each run spawns the binary with the environment Lambda
//! gives a function, not this process's: the runtime's variables, `PATH`, `LANG`, `TZ`, and from this
//! process only the function's configuration (`SHOPSTREAM_*`, the region and the credentials; see
//! [`FUNCTION_VARS`]). A shell's `SSL_CERT_DIR`, for one, made the function read every certificate
//! file in the directory as it started, 3 ms that Lambda does not have.
//!
//! The trust store is laid out as on `provided.al2023` by default (`--trust-store al2023`, see
//! [`al2023_trust_store`]): the function loads its roots at start (the AWS SDK's TLS client), and this
//! machine's Debian store costs more to load than Amazon Linux's (a directory of 440 certificate files and
//! links beside the bundle, where AL2023 has two bundles). `--trust-store host` keeps this machine's. It records
//!
//! - init: spawn → the first `next` request (process start, config, AWS clients, runtime);
//! - request: that `next` → the response POST arriving (routing, ingest, PutRecords, answer);
//! - kinesis: the first byte of each request to moto → the first byte of its answer;
//!
//! then, once the function asks for the next invocation (held, never answered), reads its peak
//! RSS (`VmHWM` in `/proc/<pid>/status`) and kills it. Prints one JSON line (medians).
//!
//! With `--runner` the binary runs under another program, an emulator such as `qemu-aarch64` for
//! an arm64 build on an x86_64 machine: the times and the peak RSS are then the emulator's, with
//! the binary inside it (see bench/README.md for how they are read).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Parser;
use ingest_bench::{median, now, tracker_batch, uuid_v7};
use serde_json::{json, Value};

/// What the function gets from this process's environment, besides every `SHOPSTREAM_*` variable:
/// what its configuration in Lambda would set.
const FUNCTION_VARS: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "RUST_LOG",
];

/// The variables of the function's environment: Lambda's own for `provided.al2023`, and the
/// function's configuration taken from `vars` (this process's environment).
fn function_env(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
        ("LANG", "en_US.UTF-8"),
        ("TZ", ":UTC"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(vars.filter(|(k, _)| k.starts_with("SHOPSTREAM_") || FUNCTION_VARS.contains(&k.as_str())));
    env
}

#[derive(Parser)]
#[command(about = "Times the ingest Lambda's cold start against a local Runtime API emulator")]
struct Args {
    /// The Lambda binary (bootstrap) to run.
    #[arg(long)]
    bin: PathBuf,
    /// The API Gateway REST proxy event; its `"__BODY__"` is replaced by the batch.
    #[arg(long)]
    event: PathBuf,
    /// moto's address (host:port); the function reaches it through the timing proxy.
    #[arg(long)]
    kinesis: String,
    #[arg(long, default_value_t = 7)]
    runs: usize,
    #[arg(long, default_value_t = 100)]
    events: usize,
    /// Label of the binary's architecture in the results.
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// Run the binary under this program (`qemu-aarch64`): `RUNNER [RUNNER_ARG...] BIN`.
    #[arg(long)]
    runner: Option<PathBuf>,
    /// An argument for the runner, before the binary (repeatable: `--runner-arg=-L`).
    #[arg(long, allow_hyphen_values = true)]
    runner_arg: Vec<String>,
    /// Where the function's stdout/stderr go.
    #[arg(long, default_value = "/dev/null")]
    log: PathBuf,
    /// Append the result (one JSON line) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print every Runtime API request to stderr.
    #[arg(long)]
    verbose: bool,
    /// The trust store the function finds: laid out as on `provided.al2023` (from `--ca-bundle`), or this
    /// machine's own.
    #[arg(long, value_enum, default_value_t = TrustStore::Al2023)]
    trust_store: TrustStore,
    /// The CA bundle (PEM) the AL2023 layout is made of.
    #[arg(long, default_value = "/etc/ssl/certs/ca-certificates.crt")]
    ca_bundle: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TrustStore {
    Al2023,
    Host,
}

/// Lays `bundle` out under `root` as Amazon Linux 2023 keeps its CA certificates (ca-certificates with
/// p11-kit's `update-ca-trust`), and returns the variables that make rustls-native-certs read what it finds
/// there on AL2023 by itself (openssl-probe's search): the bundle file, `extracted/pem/tls-ca-bundle.pem`,
/// and the directory `/etc/pki/tls/certs`, twice (`/etc/ssl/certs` links to it). That directory holds
/// `ca-bundle.crt`, a link to the same bundle (skipped: already read), and `ca-bundle.trust.crt`, the
/// certificates again as OpenSSL's `TRUSTED CERTIFICATE` sections (read and skipped). This machine's own
/// store instead has the bundle plus a directory of about 440 files and links, one per certificate.
fn al2023_trust_store(bundle: &Path, root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let pem = std::fs::read_to_string(bundle).with_context(|| format!("reading {}", bundle.display()))?;
    ensure!(pem.contains("-----BEGIN CERTIFICATE-----"), "{} holds no PEM certificate", bundle.display());
    let extracted = root.join("pki/ca-trust/extracted");
    let certs = root.join("pki/tls/certs");
    for dir in [extracted.join("pem"), extracted.join("openssl"), certs.clone()] {
        std::fs::create_dir_all(&dir)?;
    }
    let file = extracted.join("pem/tls-ca-bundle.pem");
    std::fs::write(&file, &pem)?;
    let trusted = pem
        .replace("BEGIN CERTIFICATE-----", "BEGIN TRUSTED CERTIFICATE-----")
        .replace("END CERTIFICATE-----", "END TRUSTED CERTIFICATE-----");
    std::fs::write(extracted.join("openssl/ca-bundle.trust.crt"), trusted)?;
    for (link, target) in [
        ("ca-bundle.crt", "../../ca-trust/extracted/pem/tls-ca-bundle.pem"),
        ("ca-bundle.trust.crt", "../../ca-trust/extracted/openssl/ca-bundle.trust.crt"),
    ] {
        let _ = std::fs::remove_file(certs.join(link));
        std::os::unix::fs::symlink(target, certs.join(link))?;
    }
    let dir = certs.display().to_string();
    Ok(vec![
        ("SSL_CERT_FILE".to_string(), file.display().to_string()),
        ("SSL_CERT_DIR".to_string(), format!("{dir}:{dir}")),
    ])
}

/// What the Runtime API saw, in order.
enum Seen {
    Next(Instant),
    Response(Instant, Vec<u8>),
    Error(String, Vec<u8>),
}

/// The invocation the next `next` call gets (taken once per run).
struct Pending {
    request_id: String,
    payload: Vec<u8>,
}

/// A parsed HTTP/1.1 request (what the runtime client sends: Content-Length or chunked bodies).
struct HttpRequest {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> anyhow::Result<Option<HttpRequest>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse()?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)?;
            if size == 0 {
                // Trailers, then the blank line.
                loop {
                    let mut t = String::new();
                    if reader.read_line(&mut t)? == 0 || t.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(HttpRequest { method, path, body }))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// One connection of the function's runtime client (keep-alive: several requests).
fn serve_runtime(
    stream: TcpStream,
    pending: Arc<Mutex<Option<Pending>>>,
    seen: Sender<Seen>,
    verbose: bool,
) -> anyhow::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader)? {
        let at = Instant::now();
        let path = req.path.as_str();
        if verbose {
            eprintln!("emu: {at:?} {} {path} ({} bytes)", req.method, req.body.len());
        }
        if req.method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            // Taken before telling the main thread: a late `next` of the previous function must not
            // take the invocation the main thread sets up for the next run.
            let invocation = pending.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.take();
            let _ = seen.send(Seen::Next(at));
            let Some(invocation) = invocation else {
                // The function waits for its next invocation: hold the call until it is killed.
                let mut sink = Vec::new();
                let _ = reader.read_to_end(&mut sink);
                return Ok(());
            };
            let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() + 30_000;
            let headers = [
                ("Lambda-Runtime-Aws-Request-Id", invocation.request_id.clone()),
                ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:shopstream-ingest".into(),
                ),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0".into()),
            ];
            respond(&mut writer, "200 OK", &headers, &invocation.payload)?;
        } else if req.method == "POST" && path.ends_with("/response") {
            let _ = seen.send(Seen::Response(at, req.body));
            respond(&mut writer, "202 Accepted", &[], br#"{"status":"OK"}"#)?;
        } else if req.method == "POST" && path.ends_with("/error") {
            let _ = seen.send(Seen::Error(path.to_string(), req.body));
            respond(&mut writer, "202 Accepted", &[], br#"{"status":"OK"}"#)?;
        } else {
            respond(&mut writer, "404 Not Found", &[], br#"{"errorMessage":"not emulated"}"#)?;
        }
    }
    Ok(())
}

/// The first request byte and the first answer byte of each connection to moto.
type Exchanges = Arc<Mutex<Vec<(Instant, Option<Instant>)>>>;

/// Forwards one connection to moto, noting when the request's first byte came and when the answer's
/// first byte went back (one PutRecords per connection here: each run is a fresh process).
fn proxy(client: TcpStream, upstream: &str, exchanges: Exchanges) -> anyhow::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let slot = {
        let mut ex = exchanges.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        ex.push((Instant::now(), None));
        ex.len() - 1
    };
    let (mut c_read, mut s_write) = (client.try_clone()?, server.try_clone()?);
    let up_exchanges = exchanges.clone();
    let upward = std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        let mut first = true;
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 {
                break;
            }
            if first {
                if let Ok(mut ex) = up_exchanges.lock() {
                    ex[slot].0 = Instant::now();
                }
                first = false;
            }
            if s_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let mut buf = [0u8; 16 * 1024];
    let mut first = true;
    while let Ok(n) = s_read.read(&mut buf) {
        if n == 0 {
            break;
        }
        if first {
            if let Ok(mut ex) = exchanges.lock() {
                ex[slot].1 = Some(Instant::now());
            }
            first = false;
        }
        if c_write.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = upward.join();
    Ok(())
}

fn vm_hwm_kib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}

fn wait_for(seen: &Receiver<Seen>, timeout: Duration, what: &str) -> anyhow::Result<Seen> {
    match seen.recv_timeout(timeout) {
        Ok(s) => Ok(s),
        Err(RecvTimeoutError::Timeout) => bail!("no {what} within {timeout:?}"),
        Err(RecvTimeoutError::Disconnected) => bail!("runtime API gone"),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let event_template = std::fs::read_to_string(&args.event)?;
    ensure!(event_template.contains("\"__BODY__\""), "{} has no \"__BODY__\"", args.event.display());
    let trust_root = std::env::temp_dir().join(format!("shopstream-al2023-trust-{}", std::process::id()));
    let trust_vars = match args.trust_store {
        TrustStore::Al2023 => al2023_trust_store(&args.ca_bundle, &trust_root)?,
        TrustStore::Host => Vec::new(),
    };

    let runtime = TcpListener::bind("127.0.0.1:0")?;
    let runtime_addr = runtime.local_addr()?;
    let pending: Arc<Mutex<Option<Pending>>> = Arc::default();
    let (seen_tx, seen) = channel();
    {
        let (pending, verbose) = (pending.clone(), args.verbose);
        std::thread::spawn(move || {
            for stream in runtime.incoming().flatten() {
                let _ = stream.set_nodelay(true);
                let (pending, seen) = (pending.clone(), seen_tx.clone());
                std::thread::spawn(move || {
                    if let Err(e) = serve_runtime(stream, pending, seen, verbose) {
                        eprintln!("runtime API emulator: {e:#}");
                    }
                });
            }
        });
    }
    let kinesis_proxy = TcpListener::bind("127.0.0.1:0")?;
    let proxy_addr = kinesis_proxy.local_addr()?;
    let exchanges: Exchanges = Arc::default();
    {
        let (exchanges, upstream) = (exchanges.clone(), args.kinesis.clone());
        std::thread::spawn(move || {
            for stream in kinesis_proxy.incoming().flatten() {
                let (exchanges, upstream) = (exchanges.clone(), upstream.clone());
                std::thread::spawn(move || proxy(stream, &upstream, exchanges));
            }
        });
    }

    let (mut init_ms, mut request_ms, mut kinesis_ms, mut total_ms, mut vmhwm) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut failures: Vec<String> = Vec::new();
    for run in 0..args.runs {
        let sent_at = now();
        let batch = tracker_batch(args.events, sent_at, |i| uuid_v7(sent_at, run as u16, i as u64));
        let payload = event_template.replace("\"__BODY__\"", &serde_json::to_string(&batch)?).into_bytes();
        *pending.lock().map_err(|_| anyhow::anyhow!("poisoned"))? =
            Some(Pending { request_id: format!("bench-{run}-{}", sent_at.0), payload });
        exchanges.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clear();
        while seen.try_recv().is_ok() {}

        let log = std::fs::OpenOptions::new().create(true).append(true).open(&args.log)?;
        let started = Instant::now();
        let mut command = match &args.runner {
            Some(runner) => {
                let mut command = Command::new(runner);
                command.args(&args.runner_arg).arg(&args.bin);
                command
            }
            None => Command::new(&args.bin),
        };
        let mut child = command
            .env_clear()
            .envs(function_env(std::env::vars()))
            .envs(trust_vars.iter().cloned())
            .env("AWS_LAMBDA_RUNTIME_API", runtime_addr.to_string())
            .env("AWS_ENDPOINT_URL", format!("http://{proxy_addr}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "shopstream-ingest")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/shopstream-ingest")
            .env("_HANDLER", "bootstrap")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", args.bin.display()))?;
        let outcome = (|| -> anyhow::Result<(f64, f64, f64)> {
            let next_at = match wait_for(&seen, Duration::from_secs(10), "first `next` call")? {
                Seen::Next(at) => at,
                Seen::Error(path, body) => bail!("{path}: {}", String::from_utf8_lossy(&body)),
                Seen::Response(..) => bail!("a response before any invocation"),
            };
            let (response_at, body) = match wait_for(&seen, Duration::from_secs(10), "response")? {
                Seen::Response(at, body) => (at, body),
                Seen::Error(path, body) => bail!("{path}: {}", String::from_utf8_lossy(&body)),
                Seen::Next(_) => bail!("asked for the next invocation without answering"),
            };
            let answer: Value = serde_json::from_slice(&body).context("the function's answer")?;
            let inner: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
            ensure!(
                answer["statusCode"] == 200 && inner["accepted"] == args.events,
                "the batch was not accepted whole: {answer}"
            );
            // Wait for the function to ask again (the invocation is over), then read its peak.
            match wait_for(&seen, Duration::from_secs(5), "second `next` call")? {
                Seen::Next(_) => {}
                _ => bail!("unexpected call after the response"),
            }
            Ok((
                next_at.duration_since(started).as_secs_f64() * 1e3,
                response_at.duration_since(next_at).as_secs_f64() * 1e3,
                response_at.duration_since(started).as_secs_f64() * 1e3,
            ))
        })();
        let hwm = vm_hwm_kib(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let (init, request, total) = match outcome {
            Ok(times) => times,
            Err(e) => {
                // Reported and counted, not fatal: one stuck run should not lose the others.
                eprintln!("lambda run {run} failed (function log: {}): {e:#}", args.log.display());
                failures.push(format!("run {run}: {e:#}"));
                continue;
            }
        };
        let puts: f64 = exchanges
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .iter()
            .filter_map(|(sent, answered)| answered.map(|a| a.duration_since(*sent).as_secs_f64() * 1e3))
            .sum();
        let hwm = hwm?;
        eprintln!(
            "lambda run {run}: init {init:.1} ms, request {request:.1} ms (PutRecords {puts:.1} ms), total {total:.1} ms, VmHWM {:.1} MiB",
            hwm / 1024.0
        );
        init_ms.push(init);
        request_ms.push(request);
        kinesis_ms.push(puts);
        total_ms.push(total);
        vmhwm.push(hwm);
    }
    let _ = std::fs::remove_dir_all(&trust_root);
    ensure!(!total_ms.is_empty(), "every run failed: {failures:?}");
    let result = json!({
        "bench": "lambda",
        "failed_runs": failures,
        "arch": args.arch,
        "trust_store": match args.trust_store {
            TrustStore::Al2023 => "al2023",
            TrustStore::Host => "host",
        },
        "runner": args.runner.as_ref().map(|r| r.display().to_string()),
        "runs": total_ms.len(),
        "events_per_batch": args.events,
        "init_ms": median(&init_ms),
        "request_ms": median(&request_ms),
        "kinesis_ms": median(&kinesis_ms),
        "total_ms": median(&total_ms),
        "own_ms": median(&total_ms.iter().zip(&kinesis_ms).map(|(t, k)| t - k).collect::<Vec<_>>()),
        "vmhwm_kib": median(&vmhwm),
        "total_ms_runs": total_ms,
        "init_ms_runs": init_ms,
        "kinesis_ms_runs": kinesis_ms,
        "vmhwm_kib_runs": vmhwm,
    });
    println!("{result}");
    if let Some(path) = &args.out {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(f, "{result}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_gets_lambdas_environment_and_its_configuration_only() {
        let shell = [
            ("SSL_CERT_DIR", "/etc/ssl/certs"),
            ("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
            ("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"),
            ("HOME", "/root"),
            ("PATH", "/root/.cargo/bin:/usr/bin"),
            ("SHOPSTREAM_STREAM_NAME", "shopstream-bench"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "bench"),
        ];
        let env = function_env(shell.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        for gone in ["SSL_CERT_DIR", "SSL_CERT_FILE", "AWS_CA_BUNDLE", "HOME"] {
            assert_eq!(get(gone), None, "{gone} is the shell's, not Lambda's");
        }
        assert_eq!(get("PATH"), Some("/usr/local/bin:/usr/bin/:/bin:/opt/bin"));
        assert_eq!(get("SHOPSTREAM_STREAM_NAME"), Some("shopstream-bench"));
        assert_eq!(get("AWS_REGION"), Some("us-east-1"));
        assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("bench"));
        assert_eq!(get("AWS_EXECUTION_ENV"), Some("AWS_Lambda_provided.al2023"));
    }

    #[test]
    fn the_al2023_trust_store_yields_each_certificate_of_the_bundle_once() {
        let scratch = std::env::temp_dir().join(format!("shopstream-trust-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).unwrap();
        // PEM is only base64 here: rustls-native-certs decodes the sections, it does not parse them.
        let bundle = scratch.join("bundle.pem");
        // Three tiny DER values (an INTEGER 0, 1, 2 in a SEQUENCE) and their base64.
        let certs: Vec<(Vec<u8>, &str)> = vec![
            (vec![0x30, 3, 2, 1, 0], "MAMCAQA="),
            (vec![0x30, 3, 2, 1, 1], "MAMCAQE="),
            (vec![0x30, 3, 2, 1, 2], "MAMCAQI="),
        ];
        let pem: String = certs
            .iter()
            .map(|(_, b64)| format!("# a comment\n-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"))
            .collect();
        std::fs::write(&bundle, pem).unwrap();

        let root = scratch.join("etc");
        al2023_trust_store(&bundle, &root).unwrap();
        let vars = al2023_trust_store(&bundle, &root).unwrap(); // a second layout over the first is fine
        let get = |key: &str| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap();
        let file = PathBuf::from(get("SSL_CERT_FILE"));
        let dirs: Vec<PathBuf> = std::env::split_paths(&get("SSL_CERT_DIR")).collect();
        assert_eq!(dirs.len(), 2, "openssl-probe finds /etc/ssl/certs and /etc/pki/tls/certs, the same directory");
        assert_eq!(dirs[0], dirs[1]);
        assert_eq!(std::fs::read_dir(&dirs[0]).unwrap().count(), 2);
        assert_eq!(
            std::fs::canonicalize(dirs[0].join("ca-bundle.crt")).unwrap(),
            std::fs::canonicalize(&file).unwrap()
        );

        let loaded = rustls_native_certs::load_certs_from_paths(Some(&file), Some(&dirs[0]));
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let loaded: Vec<Vec<u8>> = loaded.certs.iter().map(|c| c.as_ref().to_vec()).collect();
        let expected: Vec<Vec<u8>> = certs.into_iter().map(|(der, _)| der).collect();
        assert_eq!(loaded, expected, "the bundle's certificates, each once: the trusted copies are not certificates");
        let trusted = std::fs::read_to_string(dirs[0].join("ca-bundle.trust.crt")).unwrap();
        assert_eq!(trusted.matches("-----BEGIN TRUSTED CERTIFICATE-----").count(), 3);
        std::fs::remove_dir_all(&scratch).unwrap();
    }
}
