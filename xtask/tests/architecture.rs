//! The invariants ARCHITECTURE.md states, checked on the real dependency graph (`cargo tree`, which
//! resolves features per package as a build of that package would) and on the sources.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every crate in `package`'s normal (non-dev, non-build) dependency tree, by name.
fn deps(package: &str, target: Option<&str>) -> Vec<String> {
    deps_with_features(package, target, &[])
}

/// Like [`deps`], with the package's `features` turned on.
fn deps_with_features(package: &str, target: Option<&str>, features: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["tree", "-p", package, "-e", "normal", "--prefix", "none", "--format", "{p}"]).current_dir(root());
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let out = cmd.output().expect("cargo tree");
    assert!(out.status.success(), "cargo tree -p {package}: {}", String::from_utf8_lossy(&out.stderr));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn assert_none(package: &str, names: &[String], forbidden: &[&str]) {
    let bad: Vec<&String> = names
        .iter()
        .filter(|n| {
            forbidden.iter().any(|f| n.as_str() == *f || (f.ends_with('*') && n.starts_with(&f[..f.len() - 1])))
        })
        .collect();
    assert!(bad.is_empty(), "{package} must not depend on {bad:?}");
}

const AWS_AND_LAMBDA: &[&str] = &["aws-*", "lambda_*", "lambda-*"];
/// The AWS SDK and Lambda, but not `aws-lc-rs`/`aws-lc-sys` (the crypto library rustls and the JWT
/// verification build on, which talks to no AWS service).
const AWS_SDK_AND_LAMBDA: &[&str] = &[
    "aws-sdk-*",
    "aws-smithy-*",
    "aws-config",
    "aws-runtime",
    "aws-types",
    "aws-sigv4",
    "aws-credential-types",
    "lambda_*",
    "lambda-*",
];
const WASM: &[&str] = &["wasm-bindgen", "js-sys", "web-sys", "leptos"];

#[test]
fn the_schema_does_no_io_and_its_core_pulls_in_nothing() {
    let with_json = deps("event-schema", None);
    assert_none("event-schema", &with_json, &["tokio", "rusqlite", "axum", "hyper", "http", "reqwest"]);
    assert_none("event-schema", &with_json, AWS_AND_LAMBDA);
    assert_none("event-schema", &with_json, WASM);
    // The tracker's build of the schema: no serde, no JSON, nothing at all besides the crate.
    let sdk = deps("shopstream-sdk", Some("wasm32-unknown-unknown"));
    assert!(sdk.iter().any(|n| n == "event-schema") && sdk.iter().any(|n| n == "wasm-bindgen"), "{sdk:?}");
    assert_none("shopstream-sdk", &sdk, &["serde", "serde_json", "serde_core", "thiserror"]);
}

#[test]
fn the_catalog_is_pure_data_shared_by_the_storefront_and_the_server() {
    // It builds for the browser and the server alike: serde and serde_json, no runtime, no I/O.
    for target in [None, Some("wasm32-unknown-unknown")] {
        let d = deps("catalog", target);
        assert!(d.iter().any(|n| n == "serde_json"), "the tree was read: {d:?}");
        assert_none("catalog", &d, &["tokio", "axum", "hyper", "http", "tower", "reqwest", "rusqlite"]);
        assert_none("catalog", &d, AWS_AND_LAMBDA);
        assert_none("catalog", &d, WASM);
    }
    let mut offenders = Vec::new();
    for file in rust_files(&root().join("catalog/src")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for pattern in ["std::fs", "std::net", "std::process", "std::io", "env::", "env!("] {
            if text.contains(pattern) {
                offenders.push(format!("{} uses {pattern}", file.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

#[test]
fn the_ingest_domain_knows_nothing_of_http_aws_lambda_or_storage() {
    let d = deps("ingest-domain", None);
    assert!(d.iter().any(|n| n == "event-schema"), "the tree was read: {d:?}");
    assert_none("ingest-domain", &d, AWS_AND_LAMBDA);
    assert_none("ingest-domain", &d, &["axum", "hyper", "http", "tower", "tokio", "rusqlite"]);
    assert_none("ingest-domain", &d, WASM);
}

#[test]
fn the_http_layer_knows_nothing_of_aws_lambda_or_storage() {
    let d = deps("ingest-http", None);
    assert!(d.iter().any(|n| n == "axum"), "the tree was read: {d:?}");
    assert_none("ingest-http", &d, AWS_AND_LAMBDA);
    assert_none("ingest-http", &d, &["rusqlite"]);
    assert_none("ingest-http", &d, WASM);
}

#[test]
fn aws_adapters_stay_apart_and_only_the_lambda_knows_lambda() {
    // Each AWS adapter knows the domain and its one AWS client, not HTTP routing, not Lambda, not
    // another adapter; the local binary knows no AWS at all.
    for (package, client) in [
        ("ingest-kinesis", "aws-sdk-kinesis"),
        ("ingest-cognito", "aws-sdk-cognitoidentityprovider"),
        ("ingest-s3", "aws-sdk-s3"),
        ("ingest-sns", "aws-sdk-sns"),
        ("dynamodb-state", "aws-sdk-dynamodb"),
    ] {
        // `CognitoAdmin` (and with it the Cognito SDK client) is behind `ingest-cognito`'s `admin` feature.
        let features: &[&str] = if package == "ingest-cognito" { &["admin"] } else { &[] };
        let d = deps_with_features(package, None, features);
        assert!(d.iter().any(|n| n == client) && d.iter().any(|n| n == "ingest-domain"), "{package}: {d:?}");
        assert_none(
            package,
            &d,
            &["ingest-http", "lambda_*", "lambda-*", "axum", "rusqlite", "sqlite-store", "testkit"],
        );
        let others: Vec<&str> =
            ["aws-sdk-kinesis", "aws-sdk-cognitoidentityprovider", "aws-sdk-s3", "aws-sdk-sns", "aws-sdk-dynamodb"]
                .into_iter()
                .filter(|c| c != &client)
                .collect();
        assert_none(package, &d, &others);
    }
    let local = deps("shopstream", None);
    assert!(local.iter().any(|n| n == "sqlite-store"), "{local:?}");
    assert_none("shopstream", &local, AWS_SDK_AND_LAMBDA);
    // It verifies shoppers' Cognito tokens without the AWS SDK: the verifier alone, not `CognitoAdmin`.
    assert!(local.iter().any(|n| n == "ingest-cognito"), "{local:?}");
    let lambda = deps("ingest-lambda", None);
    assert!(lambda.iter().any(|n| n == "lambda_http") && lambda.iter().any(|n| n == "ingest-kinesis"), "{lambda:?}");
    assert_none(
        "ingest-lambda",
        &lambda,
        &["rusqlite", "sqlite-store", "testkit", "processor-lambda", "recs-lambda", "lake-lambda"],
    );
    let processor = deps("processor-lambda", None);
    assert!(
        processor.iter().any(|n| n == "lambda_runtime") && processor.iter().any(|n| n == "dynamodb-state"),
        "{processor:?}"
    );
    assert_none(
        "processor-lambda",
        &processor,
        &["rusqlite", "sqlite-store", "testkit", "ingest-http", "axum", "lambda_http", "ingest-lambda", "lake-lambda"],
    );
    // The recommendations Lambda reads the state table and serves recs-http: no stream, no bucket,
    // no ingest routes, and neither of the other Lambdas.
    let recs = deps("recs-lambda", None);
    assert!(["lambda_http", "recs-http", "dynamodb-state"].iter().all(|c| recs.iter().any(|n| n == c)), "{recs:?}");
    assert_none(
        "recs-lambda",
        &recs,
        &[
            "rusqlite",
            "sqlite-store",
            "testkit",
            "ingest-http",
            "ingest-lambda",
            "processor-lambda",
            "lake-lambda",
            "ingest-kinesis",
            "ingest-s3",
            "aws-sdk-kinesis",
            "aws-sdk-s3",
        ],
    );
}

#[test]
fn only_the_browser_crates_know_wasm_bindgen() {
    for package in ["event-schema", "ingest-domain", "ingest-http", "sqlite-store", "shopstream"] {
        assert_none(package, &deps(package, None), WASM);
    }
    let storefront = deps("storefront", Some("wasm32-unknown-unknown"));
    assert_none("storefront", &storefront, &["ingest-domain", "ingest-http", "sqlite-store", "tokio", "rusqlite"]);
    assert_none("storefront", &storefront, AWS_AND_LAMBDA);
}

#[test]
fn the_trackers_engine_knows_no_javascript() {
    let engine = std::fs::read_to_string(root().join("sdk-wasm/src/engine.rs")).unwrap();
    for word in ["wasm_bindgen", "js_sys", "web_sys", "JsValue", "extern \"C\""] {
        assert!(!engine.contains(word), "sdk-wasm/src/engine.rs mentions {word}");
    }
}

#[test]
fn libraries_never_read_the_environment() {
    // Binaries (`main.rs`) read config; library sources must not.
    let libs = [
        "event-schema/src",
        "catalog/src",
        "edge-ingest/domain/src",
        "edge-ingest/http/src",
        "edge-ingest/sqlite-store/src",
        "edge-ingest/kinesis-sink/src",
        "edge-ingest/cognito/src",
        "edge-ingest/s3-sink/src",
        "edge-ingest/lambda/src/lib.rs",
        "edge-ingest/lambda/src/emf.rs",
        "edge-ingest/dynamodb-store/src",
        "edge-ingest/processor-lambda/src/lib.rs",
        "edge-ingest/processor-lambda/src/emf.rs",
        "edge-ingest/recs-lambda/src/lib.rs",
        "lake-lambda/src/lib.rs",
        "shopstream/src/lib.rs",
        "sdk-wasm/src",
        "storefront/src/lib.rs",
    ];
    let mut offenders = Vec::new();
    for lib in libs {
        for file in rust_files(&root().join(lib)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for pattern in ["env::var", "env::vars", "std::env::args", "option_env!(\"AWS"] {
                if text.contains(pattern) {
                    offenders.push(format!("{} uses {pattern}", file.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

#[test]
fn xtask_installs_the_moto_version_testkit_expects() {
    let version = |path: &str, prefix: &str| {
        let text = std::fs::read_to_string(root().join(path)).unwrap();
        let line = text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("{path}: no {prefix}"));
        line.split('"').nth(1).unwrap().to_string()
    };
    assert_eq!(
        version("xtask/src/main.rs", "const MOTO_VERSION"),
        version("testkit/src/lib.rs", "pub const MOTO_VERSION")
    );
}

#[test]
fn personalisation_knows_no_http_aws_or_storage_and_its_api_no_aws_or_storage() {
    let domain = deps("personalize", None);
    assert!(domain.iter().any(|n| n == "event-schema"), "the tree was read: {domain:?}");
    assert_none("personalize", &domain, AWS_AND_LAMBDA);
    assert_none("personalize", &domain, &["axum", "hyper", "http", "tower", "rusqlite", "sqlite-store"]);
    assert_none("personalize", &domain, WASM);
    let api = deps("recs-http", None);
    assert!(api.iter().any(|n| n == "axum") && api.iter().any(|n| n == "personalize"), "{api:?}");
    assert_none("recs-http", &api, AWS_AND_LAMBDA);
    assert_none("recs-http", &api, &["rusqlite", "sqlite-store"]);
    let mut offenders = Vec::new();
    for lib in ["edge-ingest/personalize/src", "edge-ingest/recs-http/src"] {
        for file in rust_files(&root().join(lib)) {
            let text = std::fs::read_to_string(&file).unwrap();
            if text.contains("env::var") || text.contains("std::env::args") {
                offenders.push(file.display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "libraries read the environment: {offenders:?}");
}

#[test]
fn the_lake_is_files_and_sql_only() {
    // The lake knows files, Arrow/Parquet and DataFusion: no AWS, Lambda, HTTP server or SQLite,
    // and no other Shopstream crate but the schema's time parsing.
    let d = deps("lake", None);
    assert!(d.iter().any(|n| n == "datafusion") && d.iter().any(|n| n == "parquet"), "{d:?}");
    assert_none(
        "lake",
        &d,
        &[
            "aws-*",
            "lambda_*",
            "lambda-*",
            "axum",
            "hyper",
            "rusqlite",
            "ingest-*",
            "personalize",
            "sqlite-store",
            "catalog",
        ],
    );
    // The stream domain and the other Lambdas know no lake at all.
    for package in ["personalize", "ingest-domain", "ingest-lambda", "processor-lambda", "recs-lambda"] {
        assert_none(package, &deps(package, None), &["lake", "lake-lambda", "datafusion", "parquet", "arrow"]);
    }
    // The lake build Lambda writes the lake (Arrow and Parquet), without `lake`'s `query` feature: no
    // query engine, and nothing of the stream or the other Lambdas.
    let build = deps("lake-lambda", None);
    assert!(
        ["lake", "parquet", "aws-sdk-s3", "lambda_runtime"].iter().all(|c| build.iter().any(|n| n == c)),
        "{build:?}"
    );
    assert_none(
        "lake-lambda",
        &build,
        &[
            "datafusion",
            "datafusion-*",
            "ingest-*",
            "axum",
            "rusqlite",
            "sqlite-store",
            "personalize",
            "dynamodb-state",
            "lambda_http",
            "ingest-lambda",
            "processor-lambda",
            "recs-lambda",
            "testkit",
        ],
    );
}
