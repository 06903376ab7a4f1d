//! Many open sockets (lockd only): viewers of many appointments spread over the nodes, each
//! one a browser tab on an appointment's stream (presence included), while locks change
//! hands in their rooms. What it costs the nodes to hold them (resident memory), and how long
//! a lock event takes to reach every viewer of its room.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lockd_client::Routing;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::lockd::LockdCluster;
use crate::stats::Percentiles;
use crate::system::System;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManySockets {
    pub sockets: usize,
    pub rooms: usize,
    /// Resident memory of each node before the sockets opened and with them open.
    pub rss_before_mib: Vec<f64>,
    pub rss_open_mib: Vec<f64>,
    /// Lock events sent (grants; one per room per round) and deliveries missing.
    pub events: usize,
    pub missing: usize,
    /// From the grant's request to each viewer of its room seeing it.
    pub latency: Percentiles,
}

/// When each socket saw each grant, by fencing token.
type Seen = Arc<Mutex<Vec<(u64, Instant)>>>;

pub async fn many_sockets(
    cluster: &Arc<LockdCluster>,
    sockets: usize,
    rooms: usize,
    rounds: usize,
) -> anyhow::Result<ManySockets> {
    let rooms = rooms.clamp(1, sockets.max(1));
    let ids: Vec<String> = (0..rooms).map(|r| format!("room-{r}")).collect();
    cluster.prepare(&ids, 4).await?;
    let mib = |bytes: Option<u64>| bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0);
    let rss_before_mib = cluster.servers().iter().map(|s| mib(s.rss_bytes())).collect();
    let (stop_tx, stop) = watch::channel(false);
    let mut seen: Vec<Seen> = Vec::with_capacity(sockets);
    let mut tasks = Vec::with_capacity(sockets);
    for index in 0..sockets {
        let viewer = cluster.viewer(index, &ids[index % rooms]).await?;
        let mine: Seen = Arc::default();
        seen.push(mine.clone());
        let mut stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut socket = viewer.socket;
            loop {
                tokio::select! {
                    frame = socket.next() => {
                        let Some(Ok(Message::Text(text))) = frame else {
                            if frame.is_none() { return; }
                            continue;
                        };
                        // Only grants are timed; presence and the rest are read and dropped.
                        if !text.as_str().contains("\"lock.acquired\"") {
                            continue;
                        }
                        let at = Instant::now();
                        if let Ok(event) = serde_json::from_str::<Value>(text.as_str())
                            && let Some(token) = event["lock"]["fencingToken"].as_u64()
                        {
                            mine.lock().unwrap().push((token, at));
                        }
                    }
                    _ = stop.changed() => return,
                }
            }
        }));
    }
    // Let the joins settle (rosters relayed between nodes), then measure what is held.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_open_mib = cluster.servers().iter().map(|s| mib(s.rss_bytes())).collect();
    let mut granted = Vec::new();
    for round in 0..rounds {
        let holder = cluster.api_client(&format!("bench-holder-{round}"), "user", Routing::Through(0))?;
        for (room, id) in ids.iter().enumerate() {
            holder.prefer_node(room % cluster.servers().len());
            let (token, sent) = cluster.grant_and_release(&holder, id).await?;
            granted.push((room, token, sent));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_tx.send_replace(true);
    for task in tasks {
        let _ = task.await;
    }
    let mut latencies = Vec::new();
    let mut missing = 0;
    for (room, token, sent) in &granted {
        for socket in (0..sockets).filter(|s| s % rooms == *room) {
            match seen[socket].lock().unwrap().iter().find(|(t, _)| t == token) {
                Some((_, at)) => latencies.push(at.saturating_duration_since(*sent)),
                None => missing += 1,
            }
        }
    }
    Ok(ManySockets {
        sockets,
        rooms,
        rss_before_mib,
        rss_open_mib,
        events: granted.len(),
        missing,
        latency: Percentiles::of(&mut latencies),
    })
}
