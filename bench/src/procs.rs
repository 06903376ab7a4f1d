//! The server processes a benchmark starts: spawning on loopback, signals by PID, and what
//! `/proc` says about them (resident memory, CPU time).

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

/// One server process, killed (by its own PID) when dropped.
pub struct Server {
    pub name: String,
    pub log_path: PathBuf,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Server {
    pub fn new(name: &str, program: &Path, args: Vec<String>, env: Vec<(String, String)>, log_path: PathBuf) -> Server {
        Server { name: name.to_owned(), log_path, program: program.to_owned(), args, env, child: None }
    }

    pub fn start(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.child.is_none(), "{} is already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("opening {}", self.log_path.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// SIGTERM, then up to `limit` for a clean exit (SIGKILL after).
    pub fn terminate(&mut self, limit: Duration) {
        let Some(mut child) = self.child.take() else { return };
        // SAFETY: kill(2) on our own child's PID, which we have not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().ok();
        child.wait().ok();
    }

    /// Resident set size, from /proc.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let kib: u64 =
            status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    }

    /// User + system CPU time so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time_of(&format!("/proc/{}/stat", self.pid()?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// This process's own CPU time.
pub fn own_cpu_time() -> Duration {
    cpu_time_of("/proc/self/stat").unwrap_or_default()
}

fn cpu_time_of(stat_path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) may hold spaces; fields after its closing paren are plain.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_millis(ticks * 1000 / per_second))
}

/// A port on 127.0.0.1 for a server to listen on, not in use now. Not one the kernel picks
/// (port 0): that comes from the ephemeral range, where an outgoing connection (a client of
/// the benchmark, a node dialing a peer that is down) may take it before the server binds,
/// and the server then fails to start ("Address already in use"). Ports below the ephemeral
/// range are never taken by outgoing connections; they are handed out in turn from a block
/// that depends on this process, so two test processes at once rarely meet, and the bind
/// check skips ports other programs hold.
pub fn free_port() -> anyhow::Result<u16> {
    free_port_on(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// A free port on `ip` (a loopback address), chosen as [`free_port`] does.
pub fn free_port_on(ip: IpAddr) -> anyhow::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 10_000;
    let ephemeral_low = ephemeral_port_low();
    if ephemeral_low < FIRST + 1_000 {
        // No room below the ephemeral range on this machine: the kernel's pick, race and all.
        return Ok(TcpListener::bind((ip, 0))?.local_addr()?.port());
    }
    let span = ephemeral_low - FIRST;
    let start = std::process::id().wrapping_mul(1_009) % span;
    for _ in 0..span {
        let port = (FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span) as u16;
        if TcpListener::bind((ip, port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port on {ip} from {FIRST} to {ephemeral_low}")
}

/// The first port the kernel hands to outgoing connections (Linux's default when unknown).
fn ephemeral_port_low() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// `count` distinct free ports (see [`free_port`]).
pub fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    (0..count).map(|_| free_port()).collect()
}

/// Prints the last `lines` lines of every `*.log` under `dir` (one level of runs deep) to
/// stderr: why a server did not start or stopped serving, when a run fails.
pub fn print_log_tails(dir: &Path, lines: usize) {
    let entries = |dir: &Path| {
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|entry| entry.path()).collect::<Vec<_>>()
    };
    let runs = entries(dir).into_iter().filter(|path| path.is_dir());
    let mut logs: Vec<PathBuf> = std::iter::once(dir.to_owned())
        .chain(runs)
        .flat_map(|run| entries(&run))
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        eprintln!("--- last {} lines of {}", lines.min(all.len()), log.display());
        for line in &all[all.len().saturating_sub(lines)..] {
            eprintln!("{line}");
        }
    }
}

/// Raises this process's open-file limit to its hard limit (1,000 sockets need more than
/// the usual 1,024 soft limit); servers started later inherit it.
pub fn raise_open_files() -> u64 {
    // SAFETY: getrlimit/setrlimit on our own process with a valid struct.
    unsafe {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        limit.rlim_cur
    }
}

/// Open files a run needs beyond its watchers' sockets: clients, servers' files, probes.
const OPEN_FILES_SPARE: u64 = 2_000;

/// Whether `watchers` sockets (each one in this process, and one in a server, which inherits
/// the limit) fit under `allowed` open files; 0 means the limit could not be read.
pub fn enough_open_files(watchers: usize, allowed: u64) -> anyhow::Result<()> {
    let needed = watchers as u64 + OPEN_FILES_SPARE;
    anyhow::ensure!(
        allowed == 0 || needed <= allowed,
        "{watchers} watchers need about {needed} open files in this process and its servers, and the limit is \
         {allowed}: raise the hard limit (ulimit -Hn) or pass fewer --watchers"
    );
    Ok(())
}

/// Latency of a 4 KiB write followed by fdatasync in `dir`: what bounds a replicated log's
/// commit on this disk. Median of `samples`.
pub fn fsync_latency(dir: &Path, samples: usize) -> anyhow::Result<Duration> {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = [0x5au8; 4096];
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = std::time::Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(started.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path).ok();
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

/// The median round trip of 64 bytes over a loopback TCP connection between two threads
/// (`TCP_NODELAY`): what one hop between processes costs at the least.
pub fn loopback_round_trip(samples: usize) -> anyhow::Result<Duration> {
    use std::io::{Read, Write};
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let address = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        let mut message = [0u8; 64];
        while stream.read_exact(&mut message).is_ok() {
            stream.write_all(&message)?;
        }
        Ok(())
    });
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    let mut message = [0x5au8; 64];
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let started = std::time::Instant::now();
        stream.write_all(&message)?;
        stream.read_exact(&mut message)?;
        times.push(started.elapsed());
    }
    drop(stream);
    echo.join().map_err(|_| anyhow::anyhow!("the echo thread panicked"))??;
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fan_out_larger_than_the_open_file_limit_is_refused_before_it_starts() {
        assert!(enough_open_files(10_000, 20_000).is_ok());
        let refused = enough_open_files(10_000, 4_096).unwrap_err().to_string();
        assert!(refused.contains("need about 12000") && refused.contains("limit is 4096"), "{refused}");
        assert!(enough_open_files(1_000, 2_999).is_err(), "the spare files count too");
        assert!(enough_open_files(10_000, 0).is_ok(), "an unread limit does not stop the run");
    }

    #[test]
    fn reads_its_own_cpu_time_and_frees_ports() {
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(200) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(own_cpu_time() >= Duration::from_millis(100), "{:?}", own_cpu_time());
        let ports = free_ports(6).unwrap();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 6);
        let ephemeral_low = ephemeral_port_low() as u16;
        if ephemeral_low >= 11_000 {
            assert!(ports.iter().all(|&p| (10_000..ephemeral_low).contains(&p)), "{ports:?} not below {ephemeral_low}");
        }
    }
}
