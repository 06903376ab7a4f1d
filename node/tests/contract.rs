//! The OpenAPI document against a live node: Schemathesis (PyPI, pinned in
//! `deploy/python/requirements.txt`, installed by `deploy/setup.sh`) generates requests from the
//! served `/openapi.json`, valid and invalid, follows the links from a created appointment to
//! the operations on it, and runs every check it has: each answer's status, content type,
//! headers and body must be the documented ones, a request that fits the document must not be
//! refused with 400 (see `contract/schemathesis.toml` for 422), one that breaks it must be
//! refused, and nothing may answer 500.
//!
//! One node, dev mode, an admin's token, the lock-attempt limit off (it would answer most
//! generated lock requests 429, which is documented but tests nothing). One node because the
//! generated membership changes must not take a node of the cluster under test away; the
//! multi-node answers (forwarding, `not_leader`) are the real-process tests' (`cluster.rs`).
//! The two WebSocket routes are left to `updates.rs` and `presence.rs`: an HTTP tool cannot
//! upgrade, so here they are only checked to answer a plain request with the documented 400.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::Cluster;

/// Schemathesis, from `LOCKD_SCHEMATHESIS` or where `deploy/setup.sh` installs it.
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("LOCKD_SCHEMATHESIS") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let installed = PathBuf::from(home).join(".cache/lockd/venv/bin/schemathesis");
    assert!(
        installed.exists(),
        "Schemathesis is not installed: run ./deploy/test.sh, or `source deploy/setup.sh && lockd_schemathesis_install`"
    );
    installed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_is_what_the_server_does() {
    let cluster = Cluster::start_with(1, &["--rate-limits", "off"]).await;
    cluster.wait_for_leader(&[0]).await;
    let token = cluster.login(0, "alice", "admin").await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract/schemathesis.toml");
    let seed = std::env::var("LOCKD_CONTRACT_SEED").unwrap_or_else(|_| "20261203".into());
    let examples = std::env::var("LOCKD_CONTRACT_EXAMPLES").unwrap_or_else(|_| "40".into());

    let mut command = Command::new(schemathesis());
    command
        .arg("--config-file")
        .arg(&config)
        .arg("--no-color")
        .args(["run", &cluster.url(0, "/openapi.json")])
        .args(["--checks", "all", "--exclude-tag", "live"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // One worker: the same seed then gives the same run, and Hypothesis's lambda
        // descriptions parse sources in one thread only (CPython 3.11.7 intermittently fails
        // `ast.parse` with "AST constructor recursion depth mismatch" from two; seen here).
        .args(["--seed", &seed, "--max-examples", &examples, "--workers", "1"])
        .args(["--request-timeout", "15", "--max-failures", "50"])
        // Its cache (`.schemathesis/`) goes to the cluster's directory, not the source tree.
        .current_dir(cluster.dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    println!("contract: seed {seed}, {examples} examples per operation (LOCKD_CONTRACT_SEED, LOCKD_CONTRACT_EXAMPLES)");
    let run = tokio::task::spawn_blocking(move || command.output().expect("Schemathesis runs"));
    let output = tokio::time::timeout(Duration::from_secs(900), run).await.expect("Schemathesis ends").unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "Schemathesis found the document and the server disagree (above)");
    let documented = operations(&cluster).await;
    let tested = format!("Tested: {}", documented - 2);
    assert!(report.contains(&tested), "every HTTP operation was tried: expected `{tested}`");
    assert!(report.contains("Stateful"), "the stateful phase ran");

    // The WebSocket routes, asked without an upgrade: the documented 400, as problem+json.
    for path in ["/updates", "/appointments/missing/updates"] {
        let response = cluster.http.get(cluster.url(0, path)).bearer_auth(&token).send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(status == 400 || status == 404, "{path}: {status}");
        assert_eq!(content_type, "application/problem+json", "{path}");
    }
    // And the node still serves.
    let health = cluster.http.get(cluster.url(0, "/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// How many operations the served document has.
async fn operations(cluster: &Cluster) -> usize {
    let doc: Value = cluster.http.get(cluster.url(0, "/openapi.json")).send().await.unwrap().json().await.unwrap();
    doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum()
}
