//! `lockd-bench`: starts a 3-node lockd cluster and a 3-member etcd cluster on loopback,
//! one after the other, drives the same workloads against each over HTTP (and WebSocket),
//! checks safety from the outside, and writes the report: Markdown table with ratios, JSON,
//! and an SVG plot.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use lockd_bench::etcd::EtcdCluster;
use lockd_bench::lockd::LockdCluster;
use lockd_bench::procs::{enough_open_files, fsync_latency, loopback_round_trip, print_log_tails, raise_open_files};
use lockd_bench::report::{Machine, Report, SystemRun};
use lockd_bench::safety::History;
use lockd_bench::stats::ms;
use lockd_bench::system::System;
use lockd_bench::tls::BenchTls;
use lockd_bench::{pointers, sockets, workloads};

#[derive(Parser, Debug)]
#[command(about = "Benchmark a lockd cluster against etcd on this machine, with an outside safety check")]
struct Args {
    /// The lockd binary (default: `lockd` next to this program).
    #[arg(long)]
    lockd_bin: Option<PathBuf>,
    /// The etcd binary (Debian's etcd-server).
    #[arg(long, default_value = "/usr/bin/etcd")]
    etcd_bin: PathBuf,
    /// Which systems to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "lockd,etcd")]
    systems: Vec<String>,
    /// Length of each timed workload.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Client counts for the uncontended workload.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64,256")]
    clients: Vec<usize>,
    /// Watcher counts for the fan-out workload.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    watchers: Vec<usize>,
    /// Locks acquired and held for the memory and restart figures (0: skip).
    #[arg(long, default_value_t = 100_000)]
    hold_locks: usize,
    /// Where the report goes (report.md, results.json, bench.svg).
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    /// Where the servers keep their data (a fresh directory inside it per system).
    #[arg(long, default_value = "/tmp")]
    work_dir: PathBuf,
    /// Keep the servers' directories (data and logs) after a run that succeeded too.
    #[arg(long)]
    keep_logs: bool,
    /// A short run for a smoke test: 2 s workloads, 100 watchers, 2,000 held locks.
    #[arg(long)]
    quick: bool,
    /// Which workloads to run: uncontended, contended, fanout, pointers, sockets, failover, hold.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "entry,uncontended,contended,fanout,pointers,sockets,failover,hold"
    )]
    workloads: Vec<String>,
    /// Open sockets of the sockets workload (lockd only), spread over the nodes and rooms.
    #[arg(long, default_value_t = 5_000)]
    sockets: usize,
    #[arg(long, default_value_t = 100)]
    rooms: usize,
    /// Clients racing for the one lock of the contended workload.
    #[arg(long, default_value_t = 64)]
    contenders: usize,
    /// Both systems with TLS: to their clients (lockd HTTPS and WSS, etcd gRPC over TLS) and
    /// mutual TLS between their peers, from a CA made for the run (the price of TLS).
    #[arg(long)]
    tls: bool,
    /// lockd's clients route their calls to the leader (`lockd-client`'s default) instead of
    /// entering through their home node; etcd's clients keep their home member.
    #[arg(long)]
    lockd_clients_to_leader: bool,
    /// Extra flags for every lockd node (e.g. for a before/after comparison of a setting).
    #[arg(long, allow_hyphen_values = true, value_delimiter = ' ')]
    lockd_args: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.quick {
        args.seconds = args.seconds.min(2);
        args.watchers = vec![100];
        args.hold_locks = args.hold_locks.min(2_000);
        args.sockets = args.sockets.min(300);
        args.rooms = args.rooms.min(10);
    }
    let open_files = raise_open_files();
    eprintln!("open files allowed: {open_files}");
    // Found out now, not after the other workloads have run.
    if args.workloads.iter().any(|w| w == "fanout")
        && let Some(&most_watchers) = args.watchers.iter().max()
    {
        enough_open_files(most_watchers, open_files)?;
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let lockd_bin = match &args.lockd_bin {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("lockd"),
    };
    let mut report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: machine(&args)?,
        seconds_per_workload: args.seconds as f64,
        runs: Vec::new(),
    };
    eprintln!("machine: {:?}", report.machine);
    for name in &args.systems {
        let dir = tempfile::Builder::new().prefix("lockd-bench-").tempdir_in(&args.work_dir)?;
        let servers: Vec<String> = (1..=3).map(|i| format!("{name}-{i}")).collect();
        let tls = args.tls.then(|| BenchTls::create(&dir.path().join("tls"), &servers)).transpose()?;
        let run = match name.as_str() {
            "lockd" => {
                let extra: Vec<String> = args.lockd_args.iter().filter(|a| !a.is_empty()).cloned().collect();
                let start = |run: &str| {
                    let cluster = LockdCluster::start(&lockd_bin, &dir.path().join(run), 3, &extra, tls.as_ref());
                    cluster.map(|mut c| {
                        c.clients_to_leader = args.lockd_clients_to_leader;
                        c
                    })
                };
                run_system(start, &args).await
            }
            "etcd" => {
                let start = |run: &str| EtcdCluster::start(&args.etcd_bin, &dir.path().join(run), 3, tls.as_ref());
                run_system(start, &args).await
            }
            other => anyhow::bail!("unknown system {other:?}: lockd or etcd"),
        };
        match run {
            Ok(run) => {
                report.runs.push(run);
                if args.keep_logs {
                    eprintln!("[{name}] servers' logs kept in {}", dir.keep().display());
                }
            }
            Err(e) => {
                // Keep the servers' logs for a look; the directory is left behind. Their ends go
                // to stderr too: in CI the directory is gone with the machine.
                let kept = dir.keep();
                print_log_tails(&kept, 20);
                return Err(e.context(format!("{name} (logs in {})", kept.display())));
            }
        }
    }
    let table = report.markdown();
    std::fs::write(args.out.join("report.md"), &table)?;
    std::fs::write(args.out.join("results.json"), serde_json::to_string_pretty(&report)?)?;
    std::fs::write(args.out.join("bench.svg"), report.svg())?;
    println!("{table}");
    eprintln!("wrote {}/report.md, results.json, bench.svg", args.out.display());
    let violations: usize = report.runs.iter().map(|r| r.violations.len()).sum();
    anyhow::ensure!(violations == 0, "{violations} safety violations (see the report)");
    Ok(())
}

/// Runs the workloads on a cluster from `start`, and the held locks on a fresh one (lockd
/// holds at most 100,000 appointments: the others' appointments would not leave room).
async fn run_system<S: System>(start: impl Fn(&str) -> anyhow::Result<S>, args: &Args) -> anyhow::Result<SystemRun> {
    let start = |run: &str| start(run).map(Arc::new);
    let mut system = start("workloads")?;
    let name = system.name();
    let say = |what: String| eprintln!("[{name}] {what}");
    system.ready().await?;
    say("cluster ready".into());
    let history = Arc::new(History::default());
    let mut run = SystemRun { name: name.into(), ..Default::default() };
    let duration = Duration::from_secs(args.seconds);
    let runs = |workload: &str| args.workloads.iter().any(|w| w == workload);
    if runs("entry") {
        say(format!("1 client through the leader, then through a follower, {} s each …", args.seconds));
        for e in workloads::entry(&system, duration, &history).await? {
            say(format!(
                "  through the {}: {:.0} cycles/s; acquire p50 {:.2} ms, p99 {:.2} ms; failures {}",
                e.through, e.cycles_per_s, e.acquire.p50_ms, e.acquire.p99_ms, e.failures
            ));
            run.entry.push(e);
        }
    }
    for &clients in args.clients.iter().filter(|_| runs("uncontended")) {
        say(format!("uncontended, {clients} clients, {} s …", args.seconds));
        let u = workloads::uncontended(&system, clients, duration, &history).await?;
        say(format!(
            "  {:.0} cycles/s; acquire p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; failures {}; server CPU {:.2} cores",
            u.cycles_per_s, u.acquire.p50_ms, u.acquire.p99_ms, u.acquire.max_ms, u.failures, u.cpu.servers_cores
        ));
        run.uncontended.push(u);
    }
    if runs("contended") {
        say(format!("contended, {} clients on one lock, {} s …", args.contenders, args.seconds));
        let c = workloads::contended(&system, args.contenders, duration, &history).await?;
        say(format!(
            "  {:.0} grants/s, {:.0} conflicts/s, {:.0} hand-offs/s, fairness {:.3}, wait p50 {:.1} ms, p99 {:.1} ms",
            c.grants_per_s, c.conflicts_per_s, c.hand_offs_per_s, c.fairness, c.wait.p50_ms, c.wait.p99_ms
        ));
        run.contended = Some(c);
    }
    for &watchers in args.watchers.iter().filter(|_| runs("fanout")) {
        say(format!("fan-out to {watchers} watchers …"));
        let f = workloads::fan_out(&system, watchers, 100, Duration::from_millis(20)).await?;
        say(format!(
            "  to the last watcher: p50 {:.1} ms, p99 {:.1} ms; missing {}",
            f.to_last_watcher.p50_ms, f.to_last_watcher.p99_ms, f.missing
        ));
        run.fan_out.push(f);
    }
    if let Some(lockd) =
        (&system as &dyn std::any::Any).downcast_ref::<Arc<LockdCluster>>().filter(|_| runs("pointers"))
    {
        say(format!("pointer relay, 50 viewers at 30 Hz, {} s …", args.seconds));
        let p = pointers::pointer_relay(lockd, 50, 30, duration).await?;
        say(format!(
            "  {:.0} of {:.0} moves/s delivered; latency p50 {:.1} ms, p99 {:.1} ms",
            p.delivered_per_s, p.offered_per_s, p.latency.p50_ms, p.latency.p99_ms
        ));
        run.pointers = Some(p);
    }
    if let Some(lockd) = (&system as &dyn std::any::Any).downcast_ref::<Arc<LockdCluster>>().filter(|_| runs("sockets"))
    {
        say(format!("{} sockets in {} rooms …", args.sockets, args.rooms));
        let s = sockets::many_sockets(lockd, args.sockets, args.rooms, 3).await?;
        say(format!(
            "  resident {:?} MiB (before {:?}); a grant to its room's viewers p50 {:.1} ms, p99 {:.1} ms; missing {}",
            s.rss_open_mib.iter().map(|m| m.round()).collect::<Vec<_>>(),
            s.rss_before_mib.iter().map(|m| m.round()).collect::<Vec<_>>(),
            s.latency.p50_ms,
            s.latency.p99_ms,
            s.missing
        ));
        run.sockets = Some(s);
    }
    if runs("failover") {
        say("failover: SIGKILL of the leader under 64 clients …".into());
        let f = workloads::failover(&mut system, 64, Duration::from_secs(3), Duration::from_secs(6), &history).await?;
        say(format!(
            "  longest gap {:.0} ms, back to half the throughput after {:.0} ms ({:.0} cycles/s before)",
            f.longest_gap_ms, f.back_to_half_ms, f.before_per_s
        ));
        run.failover = Some(f);
    }
    if args.hold_locks > 0 && runs("hold") {
        drop(system);
        system = start("held")?;
        system.ready().await?;
        say(format!("holding {} locks …", args.hold_locks));
        let h = workloads::hold(&mut system, args.hold_locks, &history).await?;
        say(format!(
            "  resident {:?} MiB (before {:?}); follower restart {:.0} ms",
            h.rss_held_mib.iter().map(|m| m.round()).collect::<Vec<_>>(),
            h.rss_before_mib.iter().map(|m| m.round()).collect::<Vec<_>>(),
            h.restart_ms
        ));
        run.hold = Some(h);
    }
    run.grants_checked = history.len();
    run.violations = history.violations();
    say(format!("safety: {} grants checked, {} violations", run.grants_checked, run.violations.len()));
    // Stop the servers before the next system starts.
    drop(system);
    Ok(run)
}

fn machine(args: &Args) -> anyhow::Result<Machine> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let etcd_version = std::process::Command::new(&args.etcd_bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "etcd not found".into());
    std::fs::create_dir_all(&args.work_dir)?;
    Ok(Machine {
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned(),
        memory_gib: memory_kib / (1024.0 * 1024.0),
        fsync_4k_ms: ms(fsync_latency(&args.work_dir, 200)?),
        loopback_round_trip_ms: ms(loopback_round_trip(2_000)?),
        etcd_version,
    })
}
