//! The simulation's test suite: many seeds of 3- and 5-node clusters under faults, the
//! determinism of a replay, and planted bugs the checker must catch.
//!
//! Replay one seed: `SIM_SEED=<n> cargo test --workspace -- <test name> --exact --nocapture`.
//! Soak: `SIM_SEEDS=0..2000 cargo test --workspace -- three_nodes --nocapture`.
//! (Always `--workspace`: another package selection changes features and rebuilds RocksDB.)

use std::time::Instant;

use lockd_sim::{Plant, Report, SimConfig, run, seeds_from_env};

fn run_seeds(test: &str, config: &SimConfig, default: std::ops::Range<u64>) -> Vec<Report> {
    let seeds = seeds_from_env(default);
    let started = Instant::now();
    let mut reports = Vec::new();
    for seed in seeds.clone() {
        let report = run(seed, config);
        if !report.violations.is_empty() {
            panic!(
                "{report}\nviolations:\n  {}\nreplay: SIM_SEED={seed} cargo test --workspace -- {test} --exact --nocapture",
                report.violations.join("\n  ")
            );
        }
        if seeds.end - seeds.start == 1 {
            println!("{report}");
        }
        reports.push(report);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sum = |f: fn(&Report) -> u64| reports.iter().map(f).sum::<u64>();
    let mut faults = std::collections::BTreeMap::new();
    for report in &reports {
        for (name, n) in &report.faults {
            *faults.entry(*name).or_insert(0u32) += n;
        }
    }
    println!(
        "{test}: {} seeds ({}..{}) in {elapsed:.1} s ({:.0} seeds/min); checked {} applied entries ({} per seed), {} grants, {} takeovers, {} updates, {} expiries, {} acknowledged writes, {} reads; faults injected: {faults:?}; violations: 0",
        reports.len(),
        seeds.start,
        seeds.end,
        reports.len() as f64 * 60.0 / elapsed.max(0.001),
        sum(|r| r.counts.entries_applied),
        sum(|r| r.counts.entries_applied) / reports.len().max(1) as u64,
        sum(|r| r.counts.grants),
        sum(|r| r.counts.takeovers),
        sum(|r| r.counts.updates_accepted),
        sum(|r| r.counts.expiries),
        sum(|r| r.counts.writes_acked),
        sum(|r| r.counts.reads_checked),
    );
    reports
}

#[test]
fn three_nodes_keep_every_invariant_under_faults() {
    let reports = run_seeds("three_nodes_keep_every_invariant_under_faults", &SimConfig::cluster(3), 0..300);
    // The workload must actually contend, or the checks above prove little.
    assert!(reports.iter().map(|r| r.counts.grants).sum::<u64>() > 10 * reports.len() as u64);
}

#[test]
fn five_nodes_keep_every_invariant_under_faults() {
    let reports = run_seeds("five_nodes_keep_every_invariant_under_faults", &SimConfig::cluster(5), 10_000..10_100);
    assert!(reports.iter().map(|r| r.counts.grants).sum::<u64>() > 10 * reports.len() as u64);
}

#[test]
fn a_seed_replays_the_same_history() {
    // The replays run side by side with another seed: a simulation must not depend on anything
    // shared across threads (tokio's task ids are process-wide; the crash once did).
    let config = SimConfig::cluster(3);
    let reports: Vec<Report> = std::thread::scope(|s| {
        let replays: Vec<_> = (0..3).map(|_| s.spawn(|| run(42, &config))).collect();
        s.spawn(|| run(43, &config));
        replays.into_iter().map(|r| r.join().expect("no panic")).collect()
    });
    let first = &reports[0];
    assert!(first.violations.is_empty(), "{first}");
    assert!(first.counts.entries_applied > 0);
    for again in &reports[1..] {
        assert_eq!(first.trace_digest, again.trace_digest, "seed 42 ran differently:\n{first}\n{again}");
        assert_eq!(first.counts.writes_acked, again.counts.writes_acked);
    }
}

/// Runs seeds with a bug planted until the checker reports it; fails if it never does.
fn caught_within(plant: Plant, seeds: std::ops::Range<u64>) -> Report {
    let config = SimConfig::planted(3, plant);
    for seed in seeds.clone() {
        let report = run(seed, &config);
        if !report.violations.is_empty() {
            println!("{plant:?} caught at seed {seed} (of {seeds:?}): {}", report.violations[0]);
            return report;
        }
    }
    panic!("the checker missed the planted bug {plant:?} in seeds {seeds:?}");
}

#[test]
fn the_checker_catches_an_append_acknowledged_before_sync() {
    caught_within(Plant::AckBeforeSync, 0..40);
}

#[test]
fn the_checker_catches_a_replica_expiring_leases_by_its_own_clock() {
    caught_within(Plant::LocalExpiry, 0..10);
}
