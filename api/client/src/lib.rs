//! The Rust client of a lockd cluster.
//!
//! - A typed API (`Client`): locks, appointments, the cluster's status.
//! - Routing: to the leader when the client knows it, to the next node when one fails.
//! - Retries: each write carries one idempotency key over all its tries, so a retried write
//!   is applied once and answered as the first try would have been.
//! - A keep-alive (`Lease`) that renews the lease and says, before it ends, when it is at
//!   risk, and when it is lost.
//! - The fencing token at hand (`Lease::fencing_token`), and with the `postgres` feature the
//!   recipe that makes a database refuse a stale one (`fencing`).
//!
//! ```no_run
//! # async fn example() -> Result<(), lockd_client::Error> {
//! use lockd_client::{AcquireOptions, Acquired, Client};
//! let client = Client::builder(["http://127.0.0.1:8081", "http://127.0.0.1:8082"])
//!     .bearer("eyJ...")
//!     .build()?;
//! let sent_at = tokio::time::Instant::now();
//! if let Acquired::Granted(granted) = client.acquire("appt-1", AcquireOptions::default()).await? {
//!     let lease = client.keep_alive(&granted, sent_at);
//!     // ... write under lease.fencing_token() while lease.is_held() ...
//!     lease.release().await?;
//! }
//! # Ok(()) }
//! ```

mod client;
#[cfg(feature = "postgres")]
pub mod fencing;
mod lease;
mod transport;
pub mod types;

pub use client::{AcquireOptions, Acquired, Client, ClientBuilder, Error, Released, Routing};
pub use lease::{Lease, LeaseState, LossReason};
