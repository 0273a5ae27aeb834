//! The `shopstream` command line as a contract: flags and defaults, clear errors, and durability
//! across `kill -9`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use event_schema::Timestamp;
use serde_json::{json, Value};

mod support;

use support::BIN;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shopstream-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn shopstream(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run shopstream")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Starts `serve` on a free port; returns the child and its address once it listens.
fn serve(data: &Path) -> (Child, String) {
    support::serve(data, &[])
}

/// (status, body) of one request.
fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    request_with(addr, method, path, &[], body)
}

/// As [`request`], with extra headers.
fn request_with(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    let (status, _, body) = support::http(addr, method, path, &all, body);
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn now() -> String {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64).to_rfc3339()
}

fn event(i: u32, kind: &str, properties: Value) -> Value {
    json!({
        "event_id": format!("019ab2c4-7e10-7000-8000-{i:012x}"), "type": kind, "occurred_at": now(),
        "anonymous_id": "anon-1", "session_id": "sess-1", "properties": properties
    })
}

#[test]
fn help_states_the_defaults() {
    let o = shopstream(&["serve", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--addr") && help.contains("[default: 127.0.0.1:8080]"), "{help}");
    assert!(help.contains("--data <DIR>") && help.contains("[default: .shopstream/data]"), "{help}");
    let o = shopstream(&["events", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("[default: .shopstream/data]"));
}

#[test]
fn a_bad_flag_is_a_usage_error_not_a_panic() {
    let o = shopstream(&["serve", "--adress", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unexpected argument '--adress'"), "{}", stderr(&o));
    let o = shopstream(&["serve", "--addr", "not-an-address"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("invalid value 'not-an-address'"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn sign_in_flags_go_together_and_a_demo_password_is_only_for_an_emulator() {
    // A pool needs its client, and the other way round.
    let o = shopstream(&["serve", "--cognito-pool-id", "eu-west-1_abc"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--cognito-client-id"), "{}", stderr(&o));
    // A real pool's password would be served at /config.json to anyone.
    let o = shopstream(&[
        "serve",
        "--cognito-pool-id",
        "eu-west-1_abc",
        "--cognito-client-id",
        "c1",
        "--demo-account",
        "demo:Secret-1!",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--cognito-endpoint"), "{}", stderr(&o));
    // No region in the pool id and none given.
    let data = temp_dir("no-region");
    let o = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--cognito-pool-id", "abc", "--cognito-client-id", "c1", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--cognito-region"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = temp_dir("port");
    let o = Command::new(BIN).args(["serve", "--addr", &addr, "--data"]).arg(&data).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("cannot listen on {addr}")) && err.contains("in use"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn an_unwritable_data_dir_is_a_clear_error() {
    let file = temp_dir("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let data = file.join("data");
    let o = Command::new(BIN).args(["serve", "--addr", "127.0.0.1:0", "--data"]).arg(&data).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("cannot use data directory") && err.contains("cannot create the data directory"), "{err}");
    let o = Command::new(BIN).args(["events", "--data"]).arg(temp_dir("empty")).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}

#[test]
fn events_piped_into_head_ends_quietly() {
    let data = temp_dir("head");
    let (mut child, addr) = serve(&data);
    // More than a pipe holds (64 KiB), so `events` is still writing when the reader goes away.
    for batch in 0..3u32 {
        let events: Vec<Value> = (0..100).map(|i| event(batch * 100 + i, "page_view", json!({}))).collect();
        let body = json!({"schema_version": 1, "sent_at": now(), "events": events});
        assert_eq!(request(&addr, "POST", "/v1/events", &serde_json::to_vec(&body).unwrap()).0, 200);
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let mut events = Command::new(BIN)
        .args(["events", "--data"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(events.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.contains("page_view"), "{first}");
    // The reader (and the pipe) is gone: the rest of the listing meets a closed pipe.
    let o = events.wait_with_output().unwrap();
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(&o));
    assert_eq!(stderr(&o), "", "no error or backtrace for a closed pipe");
}

#[test]
fn acknowledged_events_survive_kill_9_and_print_oldest_first() {
    let data = temp_dir("kill9");
    let (mut child, addr) = serve(&data);
    assert_eq!(request(&addr, "GET", "/healthz", b"").0, 200);
    let batch = json!({"schema_version": 1, "sent_at": now(), "events": [
        event(1, "page_view", json!({})),
        event(2, "product_view", json!({"sku": "sku-1", "price": 9.5, "currency": "EUR"})),
        event(3, "add_to_cart", json!({"sku": "sku-1", "quantity": 0})),
        event(4, "add_to_cart", json!({"sku": "sku-1", "quantity": 2})),
    ]});
    let (status, body) = request(&addr, "POST", "/v1/events", &serde_json::to_vec(&batch).unwrap());
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["accepted"], 3);
    assert_eq!(answer["rejected"][0]["index"], 2);
    assert_eq!(answer["rejected"][0]["errors"][0]["path"], "properties.quantity");

    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();

    let o = Command::new(BIN).args(["events", "--data"]).arg(&data).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = lines.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["page_view", "product_view", "add_to_cart"]);
    assert_eq!(lines[1]["properties"]["price"], 9.5);
    assert_eq!(lines[2]["properties"]["quantity"], 2);
    assert_eq!(lines[2]["event_id"], "019ab2c4-7e10-7000-8000-000000000004");
    assert!(lines.iter().all(|e| e["received_at"].is_string()));

    // A restart on the same directory keeps appending after what was there.
    let (mut child, addr) = serve(&data);
    let batch =
        json!({"schema_version": 1, "sent_at": now(), "events": [event(5, "search", json!({"query": "socks"}))]});
    assert_eq!(request(&addr, "POST", "/v1/events", &serde_json::to_vec(&batch).unwrap()).0, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let o = Command::new(BIN).args(["events", "--data"]).arg(&data).output().unwrap();
    let last = String::from_utf8_lossy(&o.stdout).lines().last().map(String::from).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&last).unwrap()["type"], "search");
}

#[test]
fn the_curl_example_posts_a_batch_that_is_accepted_whole() {
    let data = temp_dir("example");
    let (mut child, addr) = serve(&data);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/post-batch.sh");
    let o = Command::new("bash").arg(script).arg(format!("http://{addr}")).output().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let answer: Value = serde_json::from_slice(&o.stdout).expect("the ingest's JSON answer");
    assert_eq!(answer, json!({"accepted": 2, "rejected": []}));
}

#[test]
fn write_keys_and_allowed_origins_guard_the_ingest() {
    let data = temp_dir("keys");
    let (mut child, addr) =
        support::serve(&data, &["--write-key", "wk_local", "--allowed-origin", "https://shop.example"]);
    let batch = |i: u32| json!({"schema_version": 1, "sent_at": now(), "events": [event(i, "page_view", json!({}))]});
    let body = |i: u32| serde_json::to_vec(&batch(i)).unwrap();
    let (status, answer) = request(&addr, "POST", "/v1/events", &body(1));
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("write key is required"), "{answer}");
    assert_eq!(request(&addr, "POST", "/v1/events?write_key=other", &body(2)).0, 403);
    assert_eq!(request(&addr, "POST", "/v1/events?write_key=wk_local", &body(3)).0, 200);
    assert_eq!(request_with(&addr, "POST", "/v1/events", &[("X-Write-Key", "wk_local")], &body(4)).0, 200);
    let shop = [("X-Write-Key", "wk_local"), ("Origin", "https://shop.example")];
    assert_eq!(request_with(&addr, "POST", "/v1/events", &shop, &body(5)).0, 200);
    let evil = [("X-Write-Key", "wk_local"), ("Origin", "https://evil.example")];
    assert_eq!(request_with(&addr, "POST", "/v1/events", &evil, &body(6)).0, 403);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = shopstream(&["events", "--data", data.to_str().unwrap()]);
    let stored: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(stored.len(), 3);
    assert!(
        stored.iter().all(|e| e["edge"]["site"] == "local" && e["edge"]["ip_prefix"] == "127.0.0.0/24"),
        "{stored:?}"
    );

    let usage = shopstream(&["serve", "--allowed-origin", "https://shop.example"]);
    assert_eq!(usage.status.code(), Some(2), "an origin without a key is a usage error");
    let bad = shopstream(&["serve", "--write-key", "k", "--allowed-origin", "https://*.example"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("no wildcard"), "{}", stderr(&bad));
}

#[test]
fn refused_events_are_listed_with_their_reasons() {
    let data = temp_dir("rejected");
    let (mut child, addr) = serve(&data);
    let mut bad = event(1, "page_view", json!({}));
    bad["type"] = json!("teleport");
    let batch = json!({"schema_version": 1, "sent_at": now(), "events": [event(2, "page_view", json!({})), bad]});
    let (status, answer) = request(&addr, "POST", "/v1/events", &serde_json::to_vec(&batch).unwrap());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(request(&addr, "POST", "/v1/events", b"[1,2").0, 400);
    child.kill().unwrap();
    child.wait().unwrap();
    let out = shopstream(&["rejected", "--data", data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0]["scope"].as_str(), rows[0]["index"].as_u64()), (Some("event"), Some(1)));
    assert_eq!(rows[0]["errors"][0]["code"], "unknown_event_type");
    assert!(rows[0]["raw"].as_str().unwrap().contains("teleport"));
    assert_eq!((rows[1]["scope"].as_str(), rows[1]["errors"][0]["code"].as_str()), (Some("batch"), Some("not_json")));
}
