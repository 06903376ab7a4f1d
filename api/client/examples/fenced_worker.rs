//! A worker that holds a lockd lock and writes rows a PostgreSQL table fences by token: the
//! recipe of `lockd_client::fencing`, and the process `node/tests/fencing.rs` pauses past its
//! lease to see its late write refused.
//!
//! ```text
//! fenced_worker --nodes http://127.0.0.1:8081,http://127.0.0.1:8082 --token <jwt> \
//!     --lock appt-1 --postgres "host=127.0.0.1 port=5432 user=postgres" [--ttl-ms 5000]
//! ```
//!
//! It acquires the lock, prints `granted <token>`, keeps the lease alive, then reads commands
//! on stdin: `check` prints the lease's state (`held`, `at-risk`, `lost <reason>`); `write
//! <text>` upserts the lock's row of `appointment_notes (appointment_id, body, fencing_token)`
//! and prints `written` or `refused <highest accepted token>`.

use std::collections::HashMap;

use lockd_client::fencing::{self, FenceError};
use lockd_client::{AcquireOptions, Acquired, Client, Lease, LeaseState};
use tokio::io::AsyncBufReadExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = arguments()?;
    let nodes = args["nodes"].split(',').map(str::to_owned).collect::<Vec<_>>();
    let client = Client::builder(nodes).bearer(&args["token"]).build()?;
    let (db, connection) = tokio_postgres::connect(&args["postgres"], tokio_postgres::NoTls).await?;
    tokio::spawn(connection);

    let ttl_ms = args.get("ttl-ms").map(|ms| ms.parse()).transpose()?;
    let lock = &args["lock"];
    let sent_at = tokio::time::Instant::now();
    let granted = match client.acquire(lock, AcquireOptions { wait: false, ttl_ms }).await? {
        Acquired::Granted(granted) => granted,
        other => return Err(format!("{lock} not granted: {other:?}").into()),
    };
    let lease = client.keep_alive(&granted, sent_at);
    println!("granted {}", lease.fencing_token());

    let mut commands = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(command) = commands.next_line().await? {
        match command.split_once(' ').unwrap_or((&command, "")) {
            ("check", _) => println!("{}", describe(&lease)),
            ("write", text) => match write(&db, &lease, text).await {
                Ok(()) => println!("written"),
                Err(FenceError::Stale { highest }) => println!("refused {highest}"),
                Err(error) => println!("error {error}"),
            },
            _ => println!("error unknown command {command:?}"),
        }
    }
    Ok(())
}

/// One fenced write: the table's trigger refuses it if a higher token wrote for this lock.
async fn write(db: &tokio_postgres::Client, lease: &Lease, text: &str) -> Result<(), FenceError> {
    let token = fencing::token_param(lease.fencing_token())?;
    db.execute(
        "INSERT INTO appointment_notes (appointment_id, body, fencing_token) VALUES ($1, $2, $3)
         ON CONFLICT (appointment_id) DO UPDATE SET body = EXCLUDED.body, fencing_token = EXCLUDED.fencing_token",
        &[&lease.appointment_id(), &text, &token],
    )
    .await?;
    Ok(())
}

fn describe(lease: &Lease) -> String {
    match lease.state() {
        LeaseState::Held { .. } if lease.is_held() => "held".into(),
        LeaseState::Held { .. } | LeaseState::AtRisk { .. } if !lease.is_held() => "lost expired".into(),
        LeaseState::Held { .. } | LeaseState::AtRisk { .. } => "at-risk".into(),
        LeaseState::Lost(reason) => format!("lost {reason:?}").to_lowercase(),
    }
}

/// `--name value` pairs; `nodes`, `token`, `lock` and `postgres` are required.
fn arguments() -> Result<HashMap<String, String>, String> {
    let mut args = HashMap::new();
    let mut given = std::env::args().skip(1);
    while let Some(name) = given.next() {
        let name = name.strip_prefix("--").ok_or(format!("expected --name, got {name}"))?.to_owned();
        let value = given.next().ok_or(format!("--{name} needs a value"))?;
        args.insert(name, value);
    }
    for required in ["nodes", "token", "lock", "postgres"] {
        if !args.contains_key(required) {
            return Err(format!("--{required} is required"));
        }
    }
    Ok(args)
}
