//! Fencing at a real database: PostgreSQL (Debian's package, a server this test starts in a
//! temporary directory) with the recipe of `lockd_client::fencing`. A worker process holds a
//! lock and writes under its token; it is paused (SIGSTOP) past its lease, another takes the
//! lock and writes, and when the worker wakes its late write is refused by the database.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lockd_client::fencing::{self, FenceError};
use lockd_client::types::AppointmentInput;
use lockd_client::{AcquireOptions, Acquired, Client};
use support::Cluster;

const TTL_MS: u64 = 1_500;

/// A PostgreSQL server of this test's own, on a loopback port; stopped when dropped.
struct Postgres {
    server: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Postgres {
    fn start() -> Postgres {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user.
        let user = if running_as_root() { Some(postgres_user()) } else { None };
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let initdb = as_user(Command::new(bin.join("initdb")), user)
            .args(["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(initdb.status.success(), "initdb: {}", String::from_utf8_lossy(&initdb.stderr));
        let port = lockd_bench::procs::free_port().unwrap();
        let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
        let server = as_user(Command::new(bin.join("postgres")), user)
            .args(["-D", data.to_str().unwrap(), "-p", &port.to_string(), "-k", dir.path().to_str().unwrap()])
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        Postgres { server, port, _dir: dir }
    }

    fn conninfo(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    /// A connection, once the server accepts one (it takes a second or two to start).
    async fn connect(&self) -> tokio_postgres::Client {
        let started = Instant::now();
        loop {
            match tokio_postgres::connect(&self.conninfo(), tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(connection);
                    return client;
                }
                Err(e) => {
                    assert!(started.elapsed() < Duration::from_secs(30), "PostgreSQL did not start: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown; the backends exit with the postmaster.
        signal(self.server.id(), "QUIT");
        let _ = self.server.wait();
    }
}

fn postgres_bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL from Debian's package (deploy/test.sh installs it)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version under /usr/lib/postgresql").1
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("Debian's postgres user")
    };
    (id("-u"), id("-g"))
}

fn as_user(mut command: Command, user: Option<(u32, u32)>) -> Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

/// The table the recipe guards: rows carry the token, the trigger fences them by appointment.
const NOTES: &str = "
    CREATE TABLE appointment_notes (
        appointment_id text PRIMARY KEY,
        body text NOT NULL,
        fencing_token bigint NOT NULL
    );
    CREATE TRIGGER appointment_notes_fenced BEFORE INSERT OR UPDATE ON appointment_notes
        FOR EACH ROW EXECUTE FUNCTION lockd_fenced_row('appointment_id');
";

const UPSERT: &str = "
    INSERT INTO appointment_notes (appointment_id, body, fencing_token) VALUES ($1, $2, $3)
    ON CONFLICT (appointment_id) DO UPDATE SET body = EXCLUDED.body, fencing_token = EXCLUDED.fencing_token";

/// The example worker (`api/client/examples/fenced_worker.rs`), built beside this test by
/// `cargo build --workspace --all-targets` (deploy/test.sh).
fn worker_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps.parent().and_then(Path::parent).unwrap().join("examples/fenced_worker");
    assert!(
        path.exists(),
        "{} is missing: cargo build -p lockd-client --features postgres --example fenced_worker",
        path.display()
    );
    path
}

/// The worker process, driven line by line over its stdin and stdout.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn spawn(args: &[String]) -> Worker {
        let mut child = Command::new(worker_binary())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the worker");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Worker { child, stdin, lines }
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(20)).expect("the worker answers")
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.line()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_paused_past_its_lease_is_refused_by_the_database() {
    let postgres = Postgres::start();
    let mut db = postgres.connect().await;
    fencing::install(&db).await.unwrap();
    db.batch_execute(NOTES).await.unwrap();

    let cluster = Cluster::start_with(3, &["--lock-ttl-ms", &TTL_MS.to_string()]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let urls: Vec<String> = (0..3).map(|i| cluster.url(i, "")).collect();
    let other = Client::builder(urls.clone()).bearer(cluster.login(0, "other", "user").await).build().unwrap();
    let appointment = AppointmentInput {
        id: Some("fenced-1".into()),
        title: "Fenced".into(),
        starts_at: "2030-01-01T09:00:00Z".into(),
        ends_at: "2030-01-01T09:30:00Z".into(),
        ..AppointmentInput::default()
    };
    other.create(&appointment).await.unwrap();

    let mut worker = Worker::spawn(&[
        "--nodes".into(),
        urls.join(","),
        "--token".into(),
        cluster.login(1, "worker", "user").await,
        "--lock".into(),
        "fenced-1".into(),
        "--postgres".into(),
        postgres.conninfo(),
    ]);
    let granted = worker.line();
    let worker_token: u64 = granted.strip_prefix("granted ").and_then(|t| t.parse().ok()).expect(&granted);
    assert_eq!(worker.ask("write first"), "written");
    // The worker checked its lease and is about to write: here it stalls, past its lease.
    assert_eq!(worker.ask("check"), "held");
    signal(worker.child.id(), "STOP");

    let started = Instant::now();
    let other_grant = loop {
        match other.acquire("fenced-1", AcquireOptions::default()).await.unwrap() {
            Acquired::Granted(granted) => break granted,
            _ => {
                assert!(
                    started.elapsed() < Duration::from_millis(4 * TTL_MS),
                    "the paused worker's lease never lapsed"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(other_grant.fencing_token > worker_token);
    let tx = db.transaction().await.unwrap();
    fencing::fence(&tx, "fenced-1", other_grant.fencing_token).await.unwrap();
    let token = fencing::token_param(other_grant.fencing_token).unwrap();
    tx.execute(UPSERT, &[&"fenced-1", &"second", &token]).await.unwrap();
    tx.commit().await.unwrap();

    // The worker wakes up and writes what it was about to: the database refuses it.
    signal(worker.child.id(), "CONT");
    assert_eq!(worker.ask("write late"), format!("refused {}", other_grant.fencing_token));
    let row =
        db.query_one("SELECT body, fencing_token FROM appointment_notes WHERE appointment_id = $1", &[&"fenced-1"]);
    let row = row.await.unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, i64>(1)), ("second".to_owned(), token));
    // And its keep-alive tells it the lease is gone.
    let lost = worker.ask("check");
    assert!(lost.starts_with("lost"), "{lost}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fence_takes_equal_and_higher_tokens_and_refuses_lower_ones_in_every_table() {
    let postgres = Postgres::start();
    let mut db = postgres.connect().await;
    fencing::install(&db).await.unwrap();
    fencing::install(&db).await.expect("the schema installs again over itself");
    db.batch_execute(NOTES).await.unwrap();

    fencing::fence(&db, "a", 5).await.unwrap();
    fencing::fence(&db, "a", 5).await.expect("one holder writes many times");
    fencing::fence(&db, "a", 7).await.unwrap();
    assert!(matches!(fencing::fence(&db, "a", 6).await, Err(FenceError::Stale { highest: 7 })));
    fencing::fence(&db, "b", 1).await.expect("each lock has its own fence");
    // The trigger's table shares the lock's fence: a lower token is refused there too.
    let refused = db.execute(UPSERT, &[&"a", &"late", &6i64]).await.unwrap_err();
    assert!(matches!(FenceError::from(refused), FenceError::Stale { highest: 7 }));
    db.execute(UPSERT, &[&"a", &"current", &7i64]).await.unwrap();
    assert!(matches!(fencing::token_param(u64::MAX), Err(FenceError::TokenTooLarge(_))));

    // A refused write in a transaction leaves nothing: the fence and the row are as before.
    let tx = db.transaction().await.unwrap();
    tx.execute(UPSERT, &[&"b", &"first", &1i64]).await.unwrap();
    assert!(fencing::fence(&tx, "a", 3).await.is_err());
    drop(tx);
    let notes = db.query("SELECT appointment_id, body FROM appointment_notes ORDER BY 1", &[]).await.unwrap();
    let notes: Vec<(String, String)> = notes.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(notes, vec![("a".to_owned(), "current".to_owned())]);
}
