//! The report: every figure for each system side by side with the ratio and the target it
//! is held to, as Markdown, plus a plot of throughput and tail latency (SVG).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::pointers::PointerRelay;
use crate::sockets::ManySockets;
use crate::workloads::{Contended, Failover, FanOut, Hold, Uncontended};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SystemRun {
    pub name: String,
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
    fn run(&self, name: &str) -> Option<&SystemRun> {
        self.runs.iter().find(|r| r.name == name)
    }

    fn rows(&self) -> Vec<Row> {
        let (lockd, etcd) = (self.run("lockd"), self.run("etcd"));
        let mut rows = Vec::new();
        let mut row = |figure: String, unit: &'static str, target: Target, get: &dyn Fn(&SystemRun) -> Option<f64>| {
            rows.push(Row { figure, lockd: lockd.and_then(get), etcd: etcd.and_then(get), target, unit });
        };
        let clients: Vec<usize> =
            self.runs.first().map(|r| r.uncontended.iter().map(|u| u.clients).collect()).unwrap_or_default();
        for &n in &clients {
            let at = move |r: &SystemRun| r.uncontended.iter().find(|u| u.clients == n).cloned();
            let throughput_target = if n == 64 { Target::RatioAtLeast(2.0) } else { Target::None };
            let latency_target = if n == 64 { Target::RatioAtMost(0.5) } else { Target::None };
            row(format!("uncontended, {n} clients: acquire+release cycles/s"), "/s", throughput_target, &|r| {
                at(r).map(|u| u.cycles_per_s)
            });
            row(format!("uncontended, {n} clients: acquire p50"), "ms", Target::None, &|r| {
                at(r).map(|u| u.acquire.p50_ms)
            });
            row(format!("uncontended, {n} clients: acquire p99"), "ms", latency_target, &|r| {
                at(r).map(|u| u.acquire.p99_ms)
            });
            row(format!("uncontended, {n} clients: acquire max"), "ms", Target::None, &|r| {
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
        row("failover (leader SIGKILL): longest gap without a grant".into(), "ms", Target::RatioAtMost(0.5), &|r| {
            r.failover.as_ref().map(|f| f.longest_gap_ms)
        });
        row("failover: back to half the throughput".into(), "ms", Target::None, &|r| {
            r.failover.as_ref().map(|f| f.back_to_half_ms)
        });
        for watchers in [100, 1_000] {
            let target = if watchers == 1_000 { Target::Below(50.0) } else { Target::None };
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
        for run in &self.runs {
            for v in run.violations.iter().take(20) {
                writeln!(out, "\n**{} safety violation:** {v}", run.name).unwrap();
            }
        }
        out
    }

    /// Two panels: cycles/s and p99 acquire latency against the number of clients.
    pub fn svg(&self) -> String {
        let (width, height) = (860.0, 360.0);
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
            writeln!(out, r##"<line x1="{x0}" y1="{}" x2="{}" y2="{}" stroke="#333"/>"##, y0 + h, x0 + w, y0 + h)
                .unwrap();
            writeln!(out, r##"<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{}" stroke="#333"/>"##, y0 + h).unwrap();
            for tick in 0..=4 {
                let v = max * tick as f64 / 4.0;
                let y = y0 + h - h * tick as f64 / 4.0;
                writeln!(out, r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##, x0, x0 + w, x0 - 4.0, y + 4.0, number(v)).unwrap();
            }
            let group = w / clients.len().max(1) as f64;
            for (g, n) in clients.iter().enumerate() {
                let gx = x0 + g as f64 * group;
                writeln!(
                    out,
                    r#"<text x="{}" y="{}" text-anchor="middle">{n} clients</text>"#,
                    gx + group / 2.0,
                    y0 + h + 16.0
                )
                .unwrap();
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

/// A figure with its unit; rates go without one (the row says "/s").
fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "" | "/s" => number(v),
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
    use crate::workloads::CpuUse;

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
                    uncontended: vec![uncontended(64, 5_000.0, 10.0)],
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
                "| uncontended, 64 clients: acquire+release cycles/s | 5,000 | 2,000 | 2.50× | ≥ 2× etcd | yes |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| uncontended, 64 clients: acquire p99 | 10 ms | 40 ms | 0.25× | ≤ 0.5× etcd | yes |"),
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
        assert!(slower.markdown().contains("| 1.50× | ≥ 2× etcd | **no** |"));
        let svg = report.svg();
        assert!(svg.starts_with("<svg") && svg.contains("lockd: 5,000") && svg.contains("etcd: 2,000"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1234567.4), "1,234,567");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(0.125), "0.12");
    }
}
