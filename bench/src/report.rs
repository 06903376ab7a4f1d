//! The report: every figure for each system side by side with the ratio and the target it
//! is held to, as Markdown, plus a plot of throughput and tail latency (SVG).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::pointers::PointerRelay;
use crate::sockets::ManySockets;
use crate::workloads::{Contended, Entry, Failover, FanOut, Hold, Uncontended};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SystemRun {
    pub name: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
    pub uncontended: Vec<Uncontended>,
    pub contended: Option<Contended>,
    pub fan_out: Vec<FanOut>,
    pub pointers: Option<PointerRelay>,
    #[serde(default)]
    pub sockets: Option<ManySockets>,
    pub failover: Option<Failover>,
    pub hold: Option<Hold>,
    pub grants_checked: usize,
    pub violations: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub memory_gib: f64,
    /// A 4 KiB write + fdatasync where the servers keep their data (median).
    pub fsync_4k_ms: f64,
    /// 64 bytes there and back over loopback TCP between two threads (median).
    #[serde(default)]
    pub loopback_round_trip_ms: f64,
    pub etcd_version: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    pub command: String,
    pub machine: Machine,
    pub seconds_per_workload: f64,
    pub runs: Vec<SystemRun>,
}

/// Which way is better for a figure, and the target lockd is held to (as a ratio to etcd,
/// or an absolute bound), if any.
#[derive(Clone, Copy)]
enum Target {
    None,
    RatioAtLeast(f64),
    RatioAtMost(f64),
    Below(f64),
}

struct Row {
    figure: String,
    lockd: Option<f64>,
    etcd: Option<f64>,
    target: Target,
    unit: &'static str,
}

impl Report {
    /// The fan-out's numbers of watchers in any system's run, ascending.
    fn watcher_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self.runs.iter().flat_map(|r| r.fan_out.iter().map(|f| f.watchers)).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }

    fn run(&self, name: &str) -> Option<&SystemRun> {
        self.runs.iter().find(|r| r.name == name)
    }

    fn rows(&self) -> Vec<Row> {
        let (lockd, etcd) = (self.run("lockd"), self.run("etcd"));
        let mut rows = Vec::new();
        let mut row = |figure: String, unit: &'static str, target: Target, get: &dyn Fn(&SystemRun) -> Option<f64>| {
            rows.push(Row { figure, lockd: lockd.and_then(get), etcd: etcd.and_then(get), target, unit });
        };
        for through in ["leader", "follower"] {
            let at = move |r: &SystemRun| r.entry.iter().find(|e| e.through == through).cloned();
            row(format!("1 client through the {through}: acquire+release cycles/s"), "/s", Target::None, &|r| {
                at(r).map(|e| e.cycles_per_s)
            });
            row(format!("1 client through the {through}: acquire p50"), "ms", Target::None, &|r| {
                at(r).map(|e| e.acquire.p50_ms)
            });
            row(format!("1 client through the {through}: acquire p99"), "ms", Target::None, &|r| {
                at(r).map(|e| e.acquire.p99_ms)
            });
        }
        // A system's own follower-to-leader ratio: the forward hop's price.
        row("1 client: acquire p50 through a follower / through the leader".into(), "×", Target::Below(1.15), &|r| {
            let p50 = |through: &str| r.entry.iter().find(|e| e.through == through).map(|e| e.acquire.p50_ms);
            Some(p50("follower")? / p50("leader")?)
        });
        let clients: Vec<usize> =
            self.runs.first().map(|r| r.uncontended.iter().map(|u| u.clients).collect()).unwrap_or_default();
        for &n in &clients {
            let at = move |r: &SystemRun| r.uncontended.iter().find(|u| u.clients == n).cloned();
            // Issue 24's targets.
            let throughput_target = match n {
                1 => Target::RatioAtLeast(1.3),
                8 => Target::RatioAtLeast(2.0),
                64 | 256 => Target::RatioAtLeast(3.0),
                _ => Target::None,
            };
            let p50_target = if n == 1 { Target::RatioAtMost(0.7) } else { Target::None };
            let p99_target = if n == 64 { Target::RatioAtMost(0.33) } else { Target::None };
            let max_target = if n == 256 { Target::RatioAtMost(1.0) } else { Target::None };
            row(format!("uncontended, {n} clients: acquire+release cycles/s"), "/s", throughput_target, &|r| {
                at(r).map(|u| u.cycles_per_s)
            });
            row(format!("uncontended, {n} clients: acquire p50"), "ms", p50_target, &|r| {
                at(r).map(|u| u.acquire.p50_ms)
            });
            row(format!("uncontended, {n} clients: acquire p99"), "ms", p99_target, &|r| {
                at(r).map(|u| u.acquire.p99_ms)
            });
            row(format!("uncontended, {n} clients: acquire max"), "ms", max_target, &|r| {
                at(r).map(|u| u.acquire.max_ms)
            });
            row(format!("uncontended, {n} clients: server CPU (cores of 2)"), "", Target::None, &|r| {
                at(r).map(|u| u.cpu.servers_cores)
            });
            // What bounds throughput on shared cores: the servers' CPU per cycle, and what the
            // load generator (this process) took of the same cores.
            row(format!("uncontended, {n} clients: server CPU per cycle"), "ms", Target::None, &|r| {
                at(r).filter(|u| u.cycles_per_s > 0.0).map(|u| u.cpu.servers_cores * 1000.0 / u.cycles_per_s)
            });
            row(format!("uncontended, {n} clients: load generator CPU (cores of 2)"), "", Target::None, &|r| {
                at(r).map(|u| u.cpu.bench_cores)
            });
        }
        row("contended, one lock: successful grants/s".into(), "/s", Target::RatioAtLeast(1.0), &|r| {
            r.contended.as_ref().map(|c| c.grants_per_s)
        });
        row("contended: conflicts/s".into(), "/s", Target::None, &|r| r.contended.as_ref().map(|c| c.conflicts_per_s));
        row("contended: queue hand-offs/s".into(), "/s", Target::None, &|r| {
            r.contended.as_ref().map(|c| c.hand_offs_per_s)
        });
        row("contended: fairness (Jain, 1 = equal shares)".into(), "", Target::None, &|r| {
            r.contended.as_ref().map(|c| c.fairness)
        });
        row("contended: wait for a grant p99".into(), "ms", Target::None, &|r| {
            r.contended.as_ref().map(|c| c.wait.p99_ms)
        });
        row("failover (leader SIGKILL): longest gap without a grant".into(), "ms", Target::Below(300.0), &|r| {
            r.failover.as_ref().map(|f| f.longest_gap_ms)
        });
        row("failover: back to half the throughput".into(), "ms", Target::None, &|r| {
            r.failover.as_ref().map(|f| f.back_to_half_ms)
        });
        for watchers in self.watcher_counts() {
            let target = if watchers == 1_000 { Target::RatioAtMost(1.0) } else { Target::None };
            let at = move |r: &SystemRun| r.fan_out.iter().find(|f| f.watchers == watchers).cloned();
            row(format!("fan-out, {watchers} watchers: to the last watcher p50"), "ms", Target::None, &|r| {
                at(r).map(|f| f.to_last_watcher.p50_ms)
            });
            row(format!("fan-out, {watchers} watchers: to the last watcher p99"), "ms", target, &|r| {
                at(r).map(|f| f.to_last_watcher.p99_ms)
            });
            row(format!("fan-out, {watchers} watchers: deliveries missing"), "", Target::None, &|r| {
                at(r).map(|f| f.missing as f64)
            });
        }
        row("pointer relay: delivered moves/s".into(), "/s", Target::None, &|r| {
            r.pointers.as_ref().map(|p| p.delivered_per_s)
        });
        row("pointer relay: offered moves/s".into(), "/s", Target::None, &|r| {
            r.pointers.as_ref().map(|p| p.offered_per_s)
        });
        row("pointer relay: coalesced or dropped".into(), "%", Target::None, &|r| {
            r.pointers.as_ref().map(|p| p.dropped_fraction * 100.0)
        });
        row("pointer relay: latency p50".into(), "ms", Target::None, &|r| {
            r.pointers.as_ref().map(|p| p.latency.p50_ms)
        });
        row("pointer relay: latency p99".into(), "ms", Target::None, &|r| {
            r.pointers.as_ref().map(|p| p.latency.p99_ms)
        });
        if let Some(s) = self.runs.iter().find_map(|r| r.sockets.as_ref()) {
            let (sockets, rooms) = (s.sockets, s.rooms);
            row(
                format!("{sockets} sockets in {rooms} rooms: resident memory, largest node"),
                "MiB",
                Target::None,
                &|r| r.sockets.as_ref().map(|s| s.rss_open_mib.iter().copied().fold(0.0, f64::max)),
            );
            row("sockets: resident memory before they opened, largest node".into(), "MiB", Target::None, &|r| {
                r.sockets.as_ref().map(|s| s.rss_before_mib.iter().copied().fold(0.0, f64::max))
            });
            row("sockets: a grant to every viewer of its room, p50".into(), "ms", Target::None, &|r| {
                r.sockets.as_ref().map(|s| s.latency.p50_ms)
            });
            row("sockets: a grant to every viewer of its room, p99".into(), "ms", Target::None, &|r| {
                r.sockets.as_ref().map(|s| s.latency.p99_ms)
            });
            row("sockets: deliveries missing".into(), "", Target::None, &|r| {
                r.sockets.as_ref().map(|s| s.missing as f64)
            });
        }
        let locks = self.runs.iter().find_map(|r| r.hold.as_ref().map(|h| h.locks)).unwrap_or(0);
        let rss_target = if locks >= 100_000 { Target::Below(200.0) } else { Target::None };
        row(format!("{locks} held locks: resident memory, largest node"), "MiB", rss_target, &|r| {
            r.hold.as_ref().map(|h| h.rss_held_mib.iter().copied().fold(0.0, f64::max))
        });
        row("held locks: resident memory before, largest node".into(), "MiB", Target::None, &|r| {
            r.hold.as_ref().map(|h| h.rss_before_mib.iter().copied().fold(0.0, f64::max))
        });
        row("held locks: building the latest snapshot".into(), "ms", Target::None, &|r| {
            r.hold.as_ref().and_then(|h| h.snapshot).map(|(ms, _)| ms)
        });
        row("held locks: size of the latest snapshot".into(), "MiB", Target::None, &|r| {
            r.hold.as_ref().and_then(|h| h.snapshot).map(|(_, bytes)| bytes as f64 / (1024.0 * 1024.0))
        });
        row("held locks: restart of a follower until it serves".into(), "ms", Target::Below(5_000.0), &|r| {
            r.hold.as_ref().map(|h| h.restart_ms)
        });
        row("safety: grants checked".into(), "", Target::None, &|r| Some(r.grants_checked as f64));
        row("safety: violations".into(), "", Target::Below(1.0), &|r| Some(r.violations.len() as f64));
        rows
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        writeln!(
            out,
            "Machine: {} × {}, {:.0} GiB, kernel {}; 4 KiB write + fdatasync: {:.2} ms (median); {}.",
            m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.fsync_4k_ms, m.etcd_version
        )
        .unwrap();
        writeln!(
            out,
            "Command: `{}`; {} s per timed workload. Rate limits of lockd are off for the run.\n",
            self.command, self.seconds_per_workload
        )
        .unwrap();
        writeln!(out, "| figure | lockd | etcd | lockd / etcd | target | met |").unwrap();
        writeln!(out, "|---|---:|---:|---:|---|---|").unwrap();
        for row in self.rows() {
            if row.lockd.is_none() && row.etcd.is_none() {
                continue;
            }
            let fmt = |v: Option<f64>| v.map(|v| with_unit(v, row.unit)).unwrap_or_else(|| "–".into());
            let ratio = match (row.lockd, row.etcd) {
                (Some(l), Some(e)) if e > 0.0 => Some(l / e),
                _ => None,
            };
            let (target, met) = match row.target {
                Target::None => (String::new(), String::new()),
                Target::RatioAtLeast(r) => (format!("≥ {r}× etcd"), verdict(ratio.map(|x| x >= r))),
                Target::RatioAtMost(r) => (format!("≤ {r}× etcd"), verdict(ratio.map(|x| x <= r))),
                Target::Below(b) => (format!("< {}", with_unit(b, row.unit)), verdict(row.lockd.map(|x| x < b))),
            };
            let ratio = ratio.map(|r| format!("{r:.2}×")).unwrap_or_else(|| "–".into());
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                row.figure,
                fmt(row.lockd),
                fmt(row.etcd),
                ratio,
                target,
                met
            )
            .unwrap();
        }
        out.push_str(&self.floors());
        out.push_str(&self.stage_breakdown());
        for run in &self.runs {
            for v in run.violations.iter().take(20) {
                writeln!(out, "\n**{} safety violation:** {v}", run.name).unwrap();
            }
        }
        out
    }

    /// How far one client's acquire is from what the machine allows: a write through the
    /// leader needs at least two loopback round trips (client and leader, leader and a
    /// follower) and one fsync (the leader's runs beside the follower's); through a follower,
    /// a round trip more.
    /// The least a write entered through the leader, or through a follower, can take here: two
    /// loopback round trips (client to leader, leader to a follower) and one fsync (the
    /// leader's and the follower's overlap); through a follower, one round trip more.
    fn entry_floors(&self) -> [(&'static str, f64); 2] {
        let m = &self.machine;
        let leader = 2.0 * m.loopback_round_trip_ms + m.fsync_4k_ms;
        [("leader", leader), ("follower", leader + m.loopback_round_trip_ms)]
    }

    fn entry_p50_ms(&self, system: &str, through: &str) -> Option<f64> {
        self.run(system).and_then(|r| r.entry.iter().find(|e| e.through == through)).map(|e| e.acquire.p50_ms)
    }

    fn floors(&self) -> String {
        let m = &self.machine;
        if m.loopback_round_trip_ms <= 0.0 {
            return String::new();
        }
        let mut out = String::new();
        let [(_, leader_floor), (_, follower_floor)] = self.entry_floors();
        writeln!(
            out,
            "\nFloors: a loopback round trip {:.3} ms, an fsync {:.3} ms (medians). One write through the leader \
             needs at least two round trips and one fsync, {:.3} ms; through a follower, one round trip more, {:.3} ms.\n",
            m.loopback_round_trip_ms, m.fsync_4k_ms, leader_floor, follower_floor
        )
        .unwrap();
        writeln!(out, "| 1 client, acquire p50 | floor | lockd | × floor | etcd | × floor |").unwrap();
        writeln!(out, "|---|---:|---:|---:|---:|---:|").unwrap();
        for (through, floor) in self.entry_floors() {
            let p50 = |name: &str| self.entry_p50_ms(name, through);
            let cell = |v: Option<f64>| match v {
                Some(v) => (format!("{v:.3} ms"), format!("{:.1}×", v / floor)),
                None => ("–".into(), "–".into()),
            };
            let ((lockd, lockd_x), (etcd, etcd_x)) = (cell(p50("lockd")), cell(p50("etcd")));
            writeln!(out, "| through the {through} | {floor:.3} ms | {lockd} | {lockd_x} | {etcd} | {etcd_x} |")
                .unwrap();
        }
        out
    }

    /// Where one client's writes spent their time, stage by stage and node by node (the
    /// means of lockd's `lockd_write_stage…` metrics over the run; module `stages` of lockd-raft).
    fn stage_breakdown(&self) -> String {
        let mut out = String::new();
        for run in &self.runs {
            for entry in run.entry.iter().filter(|e| e.stages.iter().any(|n| !n.stages.is_empty())) {
                writeln!(out, "\n{}, 1 client through the {}: mean ms per pass (passes)\n", run.name, entry.through)
                    .unwrap();
                let mut header = "| stage |".to_owned();
                let mut rule = "|---|".to_owned();
                for node in &entry.stages {
                    header.push_str(&format!(" {} |", node.role));
                    rule.push_str("---:|");
                }
                writeln!(out, "{header}\n{rule}").unwrap();
                let mut stages: Vec<&str> = Vec::new();
                for node in &entry.stages {
                    for s in &node.stages {
                        if !stages.contains(&s.stage.as_str()) {
                            stages.push(&s.stage);
                        }
                    }
                }
                for stage in stages {
                    let mut line = format!("| {stage} |");
                    for node in &entry.stages {
                        match node.stages.iter().find(|s| s.stage == stage) {
                            Some(s) => line.push_str(&format!(" {:.3} ({}) |", s.mean_ms, s.passes)),
                            None => line.push_str(" – |"),
                        }
                    }
                    writeln!(out, "{line}").unwrap();
                }
            }
        }
        out
    }

    /// Four panels: cycles/s and p99 acquire latency against the number of clients, one
    /// client's p50 acquire by entry point against its floor, and the fan-out's latency
    /// against the number of watchers.
    pub fn svg(&self) -> String {
        let (width, height) = (1700.0, 360.0);
        let mut out = String::new();
        writeln!(out, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#).unwrap();
        writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#).unwrap();
        let colours = [("lockd", "#2563eb"), ("etcd", "#f97316")];
        type Panel = (&'static str, fn(&Uncontended) -> f64);
        let panels: [Panel; 2] = [
            ("acquire+release cycles/s (uncontended)", |u| u.cycles_per_s),
            ("acquire latency p99, ms (uncontended)", |u| u.acquire.p99_ms),
        ];
        for (p, (title, value)) in panels.iter().enumerate() {
            let (x0, y0, w, h) = (60.0 + p as f64 * 420.0, 40.0, 360.0, 260.0);
            writeln!(out, r#"<text x="{}" y="24" font-weight="bold">{title}</text>"#, x0).unwrap();
            let clients: Vec<usize> =
                self.runs.first().map(|r| r.uncontended.iter().map(|u| u.clients).collect()).unwrap_or_default();
            let max =
                self.runs.iter().flat_map(|r| r.uncontended.iter().map(value)).fold(0.0, f64::max).max(1e-9) * 1.1;
            frame(&mut out, (x0, y0, w, h), max, number);
            let group = w / clients.len().max(1) as f64;
            for (g, n) in clients.iter().enumerate() {
                let gx = x0 + g as f64 * group;
                centred_text(&mut out, gx + group / 2.0, y0 + h + 16.0, &format!("{n} clients"));
                for (s, (name, colour)) in colours.iter().enumerate() {
                    let Some(u) = self.run(name).and_then(|r| r.uncontended.iter().find(|u| u.clients == *n)) else {
                        continue;
                    };
                    let bar = (group - 16.0) / 2.0;
                    let v = value(u);
                    let bh = h * v / max;
                    let bx = gx + 8.0 + s as f64 * bar;
                    writeln!(out, r#"<rect x="{bx:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"><title>{name}: {}</title></rect>"#, y0 + h - bh, bar - 2.0, number(v)).unwrap();
                }
            }
        }
        self.entry_panel(&mut out, &colours);
        self.fan_out_panel(&mut out, &colours);
        for (s, (name, colour)) in colours.iter().enumerate() {
            let x = 60.0 + s as f64 * 90.0;
            writeln!(
                out,
                r#"<rect x="{x}" y="{}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}">{name}</text>"#,
                height - 26.0,
                x + 16.0,
                height - 16.0
            )
            .unwrap();
        }
        writeln!(out, "</svg>").unwrap();
        out
    }
}

impl Report {
    /// One client's p50 acquire through the leader and through a follower, each system's bar
    /// beside a dashed line at the floor (`entry_floors`), so the plot shows how far each is
    /// from the physical limit.
    fn entry_panel(&self, out: &mut String, colours: &[(&str, &str); 2]) {
        if self.machine.loopback_round_trip_ms <= 0.0 || self.runs.iter().all(|r| r.entry.is_empty()) {
            return;
        }
        let (x0, y0, w, h) = (900.0, 40.0, 340.0, 260.0);
        writeln!(out, r#"<text x="{x0}" y="24" font-weight="bold">1 client: acquire p50, ms, and its floor</text>"#)
            .unwrap();
        writeln!(out, r##"<line x1="{x0}" y1="{}" x2="{}" y2="{}" stroke="#111" stroke-dasharray="4 3"/><text x="{}" y="{}">floor: loopback round trips + one fsync</text>"##, y0 + h + 30.0, x0 + 24.0, y0 + h + 30.0, x0 + 30.0, y0 + h + 34.0).unwrap();
        let floors = self.entry_floors();
        let max = colours
            .iter()
            .flat_map(|(name, _)| floors.iter().filter_map(move |(through, _)| self.entry_p50_ms(name, through)))
            .chain(floors.iter().map(|(_, floor)| *floor))
            .fold(0.0, f64::max)
            * 1.1;
        frame(out, (x0, y0, w, h), max, |v| format!("{v:.2}"));
        let group = w / floors.len() as f64;
        for (g, (through, floor)) in floors.iter().enumerate() {
            let gx = x0 + g as f64 * group;
            centred_text(out, gx + group / 2.0, y0 + h + 16.0, &format!("through the {through}"));
            let bar = (group - 16.0) / 2.0;
            for (s, (name, colour)) in colours.iter().enumerate() {
                let Some(v) = self.entry_p50_ms(name, through) else { continue };
                let bh = h * v / max;
                let bx = gx + 8.0 + s as f64 * bar;
                writeln!(out, r#"<rect x="{bx:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"><title>{name} through the {through}: {v:.3} ms, {:.1}× the floor</title></rect>"#, y0 + h - bh, bar - 2.0, v / floor).unwrap();
            }
            let fy = y0 + h - h * floor / max;
            writeln!(out, r##"<line x1="{:.1}" y1="{fy:.1}" x2="{:.1}" y2="{fy:.1}" stroke="#111" stroke-dasharray="4 3"><title>floor through the {through}: {floor:.3} ms</title></line>"##, gx + 4.0, gx + group - 4.0).unwrap();
        }
    }
}

impl Report {
    /// The fan-out's time from a grant's request to the last of its watchers, p50 as a bar and
    /// p99 as a whisker above it, per number of watchers. The scale is logarithmic: 100 and
    /// 10,000 watchers are two orders of magnitude apart.
    fn fan_out_panel(&self, out: &mut String, colours: &[(&str, &str); 2]) {
        let watchers = self.watcher_counts();
        let figures = || self.runs.iter().flat_map(|r| r.fan_out.iter().map(|f| &f.to_last_watcher));
        let (Some(low), Some(high)) = (
            figures().map(|p| p.p50_ms).filter(|v| *v > 0.0).reduce(f64::min),
            figures().map(|p| p.p99_ms).reduce(f64::max),
        ) else {
            return;
        };
        let (x0, y0, w, h) = (1320.0, 40.0, 340.0, 260.0);
        writeln!(out, r#"<text x="{x0}" y="24" font-weight="bold">fan-out: to the last watcher, ms (p50, p99)</text>"#)
            .unwrap();
        let (decade_low, decade_high) = (low.log10().floor(), high.log10().ceil().max(low.log10().floor() + 1.0));
        let y_of = |v: f64| y0 + h - h * (v.max(1e-9).log10() - decade_low) / (decade_high - decade_low);
        axes(out, (x0, y0, w, h));
        for decade in decade_low as i32..=decade_high as i32 {
            let v = 10f64.powi(decade);
            tick_line(out, (x0, y0, w, h), y_of(v), &number(v));
        }
        let group = w / watchers.len() as f64;
        for (g, n) in watchers.iter().enumerate() {
            let gx = x0 + g as f64 * group;
            centred_text(out, gx + group / 2.0, y0 + h + 16.0, &format!("{} watchers", number(*n as f64)));
            let bar = (group - 16.0) / 2.0;
            for (s, (name, colour)) in colours.iter().enumerate() {
                let Some(f) = self.run(name).and_then(|r| r.fan_out.iter().find(|f| f.watchers == *n)) else {
                    continue;
                };
                let (p50, p99) = (f.to_last_watcher.p50_ms, f.to_last_watcher.p99_ms);
                let bx = gx + 8.0 + s as f64 * bar;
                writeln!(out, r#"<rect x="{bx:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{name}, {} watchers: p50 {} ms</title></rect>"#, y_of(p50), bar - 2.0, y0 + h - y_of(p50), number(*n as f64), number(p50)).unwrap();
                let wx = bx + (bar - 2.0) / 2.0;
                writeln!(out, r#"<line x1="{wx:.1}" y1="{:.1}" x2="{wx:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"><title>{name}, {} watchers: p99 {} ms</title></line>"#, y_of(p50), y_of(p99), number(*n as f64), number(p99)).unwrap();
                writeln!(
                    out,
                    r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/>"#,
                    wx - 5.0,
                    y_of(p99),
                    wx + 5.0,
                    y_of(p99)
                )
                .unwrap();
            }
        }
    }
}

fn centred_text(out: &mut String, x: f64, y: f64, text: &str) {
    writeln!(out, r#"<text x="{x}" y="{y}" text-anchor="middle">{text}</text>"#).unwrap();
}

/// A panel's axes at `(x, y, width, height)`, with five ticks from 0 to `max`.
fn frame(out: &mut String, panel: (f64, f64, f64, f64), max: f64, tick_label: impl Fn(f64) -> String) {
    let (_, y0, _, h) = panel;
    axes(out, panel);
    for tick in 0..=4 {
        tick_line(out, panel, y0 + h - h * tick as f64 / 4.0, &tick_label(max * tick as f64 / 4.0));
    }
}

/// A panel's two axes at `(x, y, width, height)`.
fn axes(out: &mut String, (x0, y0, w, h): (f64, f64, f64, f64)) {
    writeln!(out, r##"<line x1="{x0}" y1="{}" x2="{}" y2="{}" stroke="#333"/>"##, y0 + h, x0 + w, y0 + h).unwrap();
    writeln!(out, r##"<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{}" stroke="#333"/>"##, y0 + h).unwrap();
}

/// A grid line across the panel at height `y`, labelled on the left.
fn tick_line(out: &mut String, (x0, _, w, _): (f64, f64, f64, f64), y: f64, label: &str) {
    writeln!(out, r##"<line x1="{x0}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{label}</text>"##, x0 + w, x0 - 4.0, y + 4.0).unwrap();
}

/// A figure with its unit; rates go without one (the row says "/s").
fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "" | "/s" => number(v),
        "×" => format!("{}×", number(v)),
        unit => format!("{} {unit}", number(v)),
    }
}

fn verdict(met: Option<bool>) -> String {
    match met {
        Some(true) => "yes".into(),
        Some(false) => "**no**".into(),
        None => "–".into(),
    }
}

/// A figure for people: thousands separated, at most 3 significant decimals for small ones.
fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        let whole = v.round() as i64;
        let digits = whole.abs().to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if whole < 0 { format!("-{grouped}") } else { grouped }
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Percentiles;
    use crate::workloads::{CpuUse, NodeStages, StageMean};

    fn uncontended(clients: usize, cycles_per_s: f64, p99_ms: f64) -> Uncontended {
        Uncontended {
            clients,
            cycles_per_s,
            acquire: Percentiles { count: 10, p50_ms: 1.0, p90_ms: 2.0, p99_ms, max_ms: p99_ms },
            release: Percentiles::default(),
            failures: 0,
            cpu: CpuUse::default(),
        }
    }

    #[test]
    fn the_table_gives_ratios_and_judges_targets() {
        let report = Report {
            runs: vec![
                SystemRun {
                    name: "lockd".into(),
                    uncontended: vec![uncontended(64, 7_000.0, 10.0)],
                    grants_checked: 7,
                    ..Default::default()
                },
                SystemRun {
                    name: "etcd".into(),
                    uncontended: vec![uncontended(64, 2_000.0, 40.0)],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let table = report.markdown();
        assert!(
            table.contains(
                "| uncontended, 64 clients: acquire+release cycles/s | 7,000 | 2,000 | 3.50× | ≥ 3× etcd | yes |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| uncontended, 64 clients: acquire p99 | 10 ms | 40 ms | 0.25× | ≤ 0.33× etcd | yes |"),
            "{table}"
        );
        assert!(table.contains("| safety: violations | 0 | 0 |"), "{table}");
        let slower = Report {
            runs: vec![
                SystemRun {
                    name: "lockd".into(),
                    uncontended: vec![uncontended(64, 3_000.0, 30.0)],
                    ..Default::default()
                },
                report.runs[1].clone(),
            ],
            ..Default::default()
        };
        assert!(slower.markdown().contains("| 1.50× | ≥ 3× etcd | **no** |"));
        let svg = report.svg();
        assert!(svg.starts_with("<svg") && svg.contains("lockd: 7,000") && svg.contains("etcd: 2,000"));
    }

    fn entry(through: &str, p50_ms: f64, stages: Vec<NodeStages>) -> Entry {
        Entry {
            through: through.into(),
            cycles_per_s: 500.0,
            acquire: Percentiles { count: 10, p50_ms, p90_ms: p50_ms, p99_ms: p50_ms, max_ms: p50_ms },
            release: Percentiles::default(),
            failures: 0,
            stages,
        }
    }

    #[test]
    fn one_client_is_set_against_its_floor_and_broken_into_stages() {
        let stage = |stage: &str, mean_ms: f64| StageMean { stage: stage.into(), passes: 20, mean_ms };
        let leader_stages = vec![
            NodeStages { role: "leader".into(), stages: vec![stage("log_sync", 0.3), stage("propose", 0.5)] },
            NodeStages { role: "follower".into(), stages: vec![stage("log_sync", 0.25)] },
        ];
        let report = Report {
            machine: Machine { loopback_round_trip_ms: 0.05, fsync_4k_ms: 0.25, ..Default::default() },
            runs: vec![
                SystemRun {
                    name: "lockd".into(),
                    entry: vec![entry("leader", 0.7, leader_stages), entry("follower", 0.84, Vec::new())],
                    ..Default::default()
                },
                SystemRun {
                    name: "etcd".into(),
                    entry: vec![entry("leader", 1.0, Vec::new()), entry("follower", 1.1, Vec::new())],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let table = report.markdown();
        assert!(
            table.contains("| 1 client: acquire p50 through a follower / through the leader | 1.20× | 1.10× | 1.09× | < 1.15× | **no** |"),
            "{table}"
        );
        assert!(table.contains("| through the leader | 0.350 ms | 0.700 ms | 2.0× | 1.000 ms | 2.9× |"), "{table}");
        assert!(table.contains("| through the follower | 0.400 ms | 0.840 ms | 2.1× | 1.100 ms | 2.8× |"), "{table}");
        assert!(table.contains("| stage | leader | follower |"), "{table}");
        assert!(table.contains("| log_sync | 0.300 (20) | 0.250 (20) |"), "{table}");
        assert!(table.contains("| propose | 0.500 (20) | – |"), "{table}");
        let svg = report.svg();
        assert!(svg.contains("lockd through the leader: 0.700 ms, 2.0× the floor"), "{svg}");
        assert!(svg.contains("floor through the follower: 0.400 ms"), "{svg}");
    }

    fn fan_out(watchers: usize, p50_ms: f64, p99_ms: f64) -> FanOut {
        let to_last_watcher = Percentiles { count: 100, p50_ms, p90_ms: p50_ms, p99_ms, max_ms: p99_ms };
        FanOut { watchers, events: 100, to_last_watcher, each_delivery: Percentiles::default(), missing: 0 }
    }

    #[test]
    fn the_fan_out_is_plotted_per_number_of_watchers_on_a_log_scale() {
        let run = |name: &str, fan_out| SystemRun { name: name.into(), fan_out, ..Default::default() };
        let report = Report {
            runs: vec![
                run("lockd", vec![fan_out(100, 3.0, 5.0), fan_out(10_000, 100.0, 220.0)]),
                run("etcd", vec![fan_out(100, 4.0, 6.0), fan_out(10_000, 70.0, 170.0)]),
            ],
            ..Default::default()
        };
        let svg = report.svg();
        assert!(svg.contains("lockd, 10,000 watchers: p99 220 ms"), "{svg}");
        assert!(svg.contains("etcd, 100 watchers: p50 4 ms"), "{svg}");
        // Decades from 1 ms (below the lowest p50) to 1,000 ms (above the highest p99).
        for tick in [">1</text>", ">10</text>", ">100</text>", ">1,000</text>"] {
            assert!(svg.contains(tick), "{tick} missing: {svg}");
        }
        assert!(!svg.contains(">10,000</text>"), "{svg}");
        // Without fan-out figures there is no panel.
        assert!(!Report::default().svg().contains("fan-out"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1234567.4), "1,234,567");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(0.125), "0.12");
    }
}
