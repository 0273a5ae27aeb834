//! Every golden fixture, through the validator, against its expectation; and the round trip.

use std::fs;
use std::path::{Path, PathBuf};

use event_schema::validate::{validate_batch, validate_event, BatchError, ValidationOptions};
use event_schema::{Timestamp, FIXTURES_DIR};
use serde_json::{json, Value};

fn options() -> ValidationOptions {
    let manifest: Value =
        serde_json::from_slice(&fs::read(Path::new(FIXTURES_DIR).join("manifest.json")).unwrap()).unwrap();
    ValidationOptions::at(Timestamp::parse_rfc3339(manifest["received_at"].as_str().unwrap()).unwrap())
}

fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(Path::new(FIXTURES_DIR).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().ends_with(".expect.json"))
        .collect();
    files.sort();
    files
}

#[test]
fn there_are_at_least_thirty_fixtures() {
    assert!(json_files("valid").len() + json_files("invalid").len() >= 30);
}

#[test]
fn every_valid_fixture_is_accepted_whole_and_round_trips() {
    let opts = options();
    for path in json_files("valid") {
        let body = fs::read(&path).unwrap();
        let outcome = validate_batch(&body, &opts).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert!(outcome.rejected.is_empty(), "{}: {:?}", path.display(), outcome.rejected);
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(outcome.accepted.len(), sent["events"].as_array().unwrap().len(), "{}", path.display());
        for event in &outcome.accepted {
            let wire = serde_json::to_value(event).unwrap();
            let again = validate_event(&wire, &opts).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            assert_eq!(&again, event, "{}: round trip changed the event", path.display());
        }
    }
}

#[test]
fn every_invalid_fixture_reports_the_expected_paths_and_codes() {
    let opts = options();
    for path in json_files("invalid") {
        let body = fs::read(&path).unwrap();
        let expect: Value = serde_json::from_slice(&fs::read(path.with_extension("expect.json")).unwrap()).unwrap();
        let name = path.display();
        match validate_batch(&body, &opts) {
            Err(BatchError::NotJson(_)) => assert_eq!(expect["not_json"], json!(true), "{name}"),
            Err(BatchError::Envelope(errors)) => {
                let got: Vec<Value> =
                    errors.iter().map(|e| json!({"path": e.path, "code": e.problem.code()})).collect();
                assert_eq!(Value::Array(got), expect["batch_errors"], "{name}");
            }
            Err(e) => panic!("{name}: unexpected {e:?}"),
            Ok(outcome) => {
                assert_eq!(json!(outcome.accepted.len()), expect["accepted"], "{name}");
                let got: Vec<Value> = outcome
                    .rejected
                    .iter()
                    .map(|r| {
                        let errors: Vec<Value> =
                            r.errors.iter().map(|e| json!({"path": e.path, "code": e.problem.code()})).collect();
                        json!({"index": r.index, "errors": errors})
                    })
                    .collect();
                assert_eq!(Value::Array(got), expect["rejected"], "{name}");
                let text = String::from_utf8_lossy(&body);
                for r in &outcome.rejected {
                    // The exact text of the event as sent (a slice of the body), for the bad-events sink.
                    assert!(!r.raw.is_empty() && text.contains(&r.raw), "{name}: raw {:?}", r.raw);
                    for e in &r.errors {
                        assert!(!e.problem.to_string().is_empty(), "{name}: every error has a reason");
                    }
                }
            }
        }
    }
}

#[test]
fn the_canonical_form_drops_unknown_fields_and_nulls() {
    let body = fs::read(Path::new(FIXTURES_DIR).join("valid/unknown_fields_ignored.json")).unwrap();
    let outcome = validate_batch(&body, &options()).unwrap();
    let wire = serde_json::to_value(&outcome.accepted[0]).unwrap();
    assert!(wire.get("extra_top").is_none());
    assert!(wire["properties"].get("colour_hex").is_none());
    assert_eq!(wire["properties"]["sku"], "sku-1");
    assert_eq!(wire["type"], "product_view");

    let body = fs::read(Path::new(FIXTURES_DIR).join("valid/null_optionals.json")).unwrap();
    let wire = serde_json::to_value(&validate_batch(&body, &options()).unwrap().accepted[0]).unwrap();
    assert!(wire.get("user_id").is_none() && wire.get("context").is_none());
    assert!(wire["properties"].get("price").is_none());
}

#[test]
fn rejected_events_carry_their_event_id_as_sent() {
    let body = fs::read(Path::new(FIXTURES_DIR).join("invalid/negative_price.json")).unwrap();
    let sent: Value = serde_json::from_slice(&body).unwrap();
    let outcome = validate_batch(&body, &options()).unwrap();
    assert_eq!(outcome.rejected[0].event_id.as_deref(), sent["events"][0]["event_id"].as_str());
}
