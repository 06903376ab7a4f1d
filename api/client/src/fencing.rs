//! Fencing at PostgreSQL, for data a lockd lock guards but lockd does not store
//! (docs/adr/0030-fencing-at-the-database.md). `POSTGRES_SCHEMA` creates a table of the highest
//! token accepted per lock, the function `lockd_fence(lock, token)` that refuses a lower one,
//! and a row trigger for tables whose rows carry the token. Writes fenced either way fail with
//! SQLSTATE `LF409`, which `FenceError::from` reads as `FenceError::Stale`.
//!
//! ```no_run
//! # async fn example(db: &mut tokio_postgres::Client, lease: &lockd_client::Lease) -> Result<(), lockd_client::fencing::FenceError> {
//! use lockd_client::fencing;
//! fencing::install(&*db).await?;
//! let tx = db.transaction().await?;
//! fencing::fence(&tx, lease.appointment_id(), lease.fencing_token()).await?;
//! tx.execute("UPDATE invoices SET total = 42 WHERE appointment_id = $1", &[&lease.appointment_id()]).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

use tokio_postgres::GenericClient;
use tokio_postgres::error::SqlState;

/// The schema: idempotent, run it at every start.
pub const POSTGRES_SCHEMA: &str = include_str!("../sql/postgres-fencing.sql");

/// SQLSTATE of a write refused for a lower token than one accepted.
pub const STALE_TOKEN_SQLSTATE: &str = "LF409";

#[derive(Debug, thiserror::Error)]
pub enum FenceError {
    /// A higher token was accepted for this lock: the caller's lock is not its own any more.
    #[error("stale fencing token: {highest} was accepted for this lock")]
    Stale { highest: u64 },
    /// Tokens are stored as `bigint`; one above `i64::MAX` cannot be (a cluster would take
    /// centuries of grants to reach one).
    #[error("fencing token {0} is beyond PostgreSQL's bigint")]
    TokenTooLarge(u64),
    #[error(transparent)]
    Database(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for FenceError {
    fn from(error: tokio_postgres::Error) -> Self {
        let stale = error
            .as_db_error()
            .filter(|db| *db.code() == SqlState::from_code(STALE_TOKEN_SQLSTATE))
            .and_then(|db| db.detail()?.parse().ok());
        match stale {
            Some(highest) => FenceError::Stale { highest },
            None => FenceError::Database(error),
        }
    }
}

/// Creates (or replaces) the fence table and functions.
pub async fn install(db: &impl GenericClient) -> Result<(), FenceError> {
    Ok(db.batch_execute(POSTGRES_SCHEMA).await?)
}

/// Accepts `fencing_token` for `lock_id` in the caller's transaction, or refuses it when a
/// higher one was accepted. Call it before the transaction's writes: the fence row stays
/// locked until the transaction ends, so no lower token writes in between.
pub async fn fence(db: &impl GenericClient, lock_id: &str, fencing_token: u64) -> Result<(), FenceError> {
    db.execute("SELECT lockd_fence($1, $2)", &[&lock_id, &token_param(fencing_token)?]).await?;
    Ok(())
}

/// The token as the `bigint` to bind for a fenced table's `fencing_token` column.
pub fn token_param(fencing_token: u64) -> Result<i64, FenceError> {
    i64::try_from(fencing_token).map_err(|_| FenceError::TokenTooLarge(fencing_token))
}
