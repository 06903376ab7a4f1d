//! Pointer relay (lockd only: etcd has nothing like it): viewers of one appointment spread
//! over the nodes, each moving its pointer at a fixed rate, each reading every other
//! viewer's pointer as a browser would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Barrier, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::lockd::LockdCluster;
use crate::stats::Percentiles;
use crate::system::System;

/// A move's sequence number travels in `x` as a multiple of 1/SLOTS (exact in binary), so a
/// receiver can look up when it was sent.
const SLOTS: usize = 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PointerRelay {
    pub viewers: usize,
    pub hz: u32,
    /// Moves that could be shown per second: each viewer sees every other viewer's moves.
    pub offered_per_s: f64,
    pub delivered_per_s: f64,
    /// Moves a viewer never saw (coalesced by the server under load, or lost).
    pub dropped_fraction: f64,
    /// From a move's send to a receipt.
    pub latency: Percentiles,
}

type SentTimes = Vec<Mutex<Vec<Option<Instant>>>>;

pub async fn pointer_relay(
    cluster: &Arc<LockdCluster>,
    viewers: usize,
    hz: u32,
    duration: Duration,
) -> anyhow::Result<PointerRelay> {
    let appointment = "pointers".to_owned();
    cluster.prepare(std::slice::from_ref(&appointment), 1).await?;
    let sent: Arc<SentTimes> = Arc::new((0..viewers).map(|_| Mutex::new(vec![None; SLOTS])).collect());
    // Every viewer starts moving once every viewer sees the whole room.
    let barrier = Arc::new(Barrier::new(viewers + 1));
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = Vec::with_capacity(viewers);
    for index in 0..viewers {
        let viewer = cluster.viewer(index, &appointment).await?;
        let (sent, barrier, mut stop) = (sent.clone(), barrier.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut viewer = viewer;
            let mut latencies = Vec::new();
            let mut received = 0u64;
            let mut moves = 0u64;
            // Wait for the full roster (joins are relayed between nodes).
            while let Some(Ok(frame)) = viewer.socket.next().await {
                if let Message::Text(text) = frame
                    && let Ok(event) = serde_json::from_str::<Value>(text.as_str())
                    && event["viewers"].as_array().is_some_and(|v| v.len() >= viewers)
                {
                    break;
                }
            }
            barrier.wait().await;
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / hz as f64));
            let y = index as f64 / viewers as f64;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let slot = moves as usize % SLOTS;
                        sent[index].lock().unwrap()[slot] = Some(Instant::now());
                        viewer.send_pointer(slot as f64 / SLOTS as f64, y).await?;
                        moves += 1;
                    }
                    frame = viewer.socket.next() => {
                        let Some(Ok(Message::Text(text))) = frame else { continue };
                        let at = Instant::now();
                        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                        if event["type"] != "pointer" { continue }
                        let from = event["sessionId"].as_str().and_then(|s| s.strip_prefix("viewer-")).and_then(|i| i.parse::<usize>().ok());
                        let slot = event["x"].as_f64().map(|x| (x * SLOTS as f64).round() as usize);
                        if let (Some(from), Some(slot)) = (from, slot)
                            && from < sent.len() && slot < SLOTS
                            && let Some(sent_at) = sent[from].lock().unwrap()[slot]
                        {
                            received += 1;
                            latencies.push(at.saturating_duration_since(sent_at));
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
            anyhow::Ok((moves, received, latencies))
        }));
    }
    tokio::time::timeout(Duration::from_secs(60), barrier.wait())
        .await
        .map_err(|_| anyhow::anyhow!("the viewers did not all see the whole room in 60 s"))?;
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop_tx.send_replace(true);
    let elapsed = started.elapsed().as_secs_f64();
    let (mut moves, mut received, mut latencies) = (0u64, 0u64, Vec::new());
    for task in tasks {
        let (m, r, l) = task.await??;
        moves += m;
        received += r;
        latencies.extend(l);
    }
    // Every move is offered to the other viewers.
    let offered = moves * (viewers as u64 - 1);
    Ok(PointerRelay {
        viewers,
        hz,
        offered_per_s: offered as f64 / elapsed,
        delivered_per_s: received as f64 / elapsed,
        dropped_fraction: if offered == 0 { 0.0 } else { 1.0 - received as f64 / offered as f64 },
        latency: Percentiles::of(&mut latencies),
    })
}
