//! A TCP proxy in front of each node's peer port that cuts the links between chosen nodes:
//! partitions with real processes, on loopback only. Each node dials its peers from its own
//! loopback address (127.0.0.1x, the IP its peer port listens on), which is how the proxy
//! tells who is calling; nodes advertise the proxy's address as their peer address.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The loopback address node `id` listens on and dials from.
pub fn node_ip(id: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + id as u8))
}

fn node_of(ip: IpAddr) -> Option<u64> {
    match ip {
        IpAddr::V4(v4) if v4.octets()[..3] == [127, 0, 0] && v4.octets()[3] > 10 => {
            Some(u64::from(v4.octets()[3]) - 10)
        }
        _ => None,
    }
}

/// Blocked (from, to) node pairs; links are cut in both directions.
type Blocked = BTreeSet<(u64, u64)>;

pub struct FaultProxy {
    blocked: Arc<watch::Sender<Blocked>>,
    tasks: Vec<JoinHandle<()>>,
}

impl FaultProxy {
    /// For each `(node id, node's peer address)`, listens on a fresh loopback port (bound
    /// here, so no other test can take it in between) and forwards to the node. Answers the
    /// proxy's addresses in the same order.
    pub async fn start(routes: &[(u64, SocketAddr)]) -> (FaultProxy, Vec<SocketAddr>) {
        let blocked = Arc::new(watch::Sender::new(Blocked::new()));
        let mut tasks = Vec::new();
        let mut addresses = Vec::new();
        for &(to, upstream) in routes {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy listens");
            addresses.push(listener.local_addr().unwrap());
            let blocked = blocked.clone();
            tasks.push(tokio::spawn(async move {
                while let Ok((inbound, peer)) = listener.accept().await {
                    let from = node_of(peer.ip());
                    tokio::spawn(forward(inbound, upstream, from, to, blocked.subscribe()));
                }
            }));
        }
        (FaultProxy { blocked, tasks }, addresses)
    }

    /// Cuts node `id` off from every other node (clients still reach it over HTTP).
    pub fn isolate(&self, id: u64, all: &[u64]) {
        self.blocked.send_modify(|blocked| {
            for &other in all.iter().filter(|&&o| o != id) {
                blocked.insert((id, other));
                blocked.insert((other, id));
            }
        });
    }

    pub fn heal(&self) {
        self.blocked.send_replace(Blocked::new());
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

fn cut(blocked: &Blocked, from: Option<u64>, to: u64) -> bool {
    from.is_some_and(|from| blocked.contains(&(from, to)))
}

/// Copies both ways until either side closes or the link is cut (then both sockets drop,
/// as if the network had failed).
async fn forward(
    mut inbound: TcpStream,
    upstream: SocketAddr,
    from: Option<u64>,
    to: u64,
    mut blocked: watch::Receiver<Blocked>,
) {
    if cut(&blocked.borrow_and_update(), from, to) {
        return;
    }
    let Ok(mut outbound) = TcpStream::connect(upstream).await else { return };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let copying = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
    tokio::pin!(copying);
    loop {
        tokio::select! {
            _ = &mut copying => return,
            changed = blocked.changed() => {
                if changed.is_err() || cut(&blocked.borrow_and_update(), from, to) {
                    return;
                }
            }
        }
    }
}
