use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;

use super::*;
use crate::types::TypeConfig;

struct RocksBuilder;

impl StoreBuilder<TypeConfig, RocksLogStore, StateMachineStore, tempfile::TempDir> for RocksBuilder {
    async fn build(&self) -> Result<(tempfile::TempDir, RocksLogStore, StateMachineStore), StorageError<TypeConfig>> {
        let dir = tempfile::TempDir::new().map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        let (log, sm) = open_rocks(dir.path()).map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        Ok((dir, log, sm))
    }
}

/// openraft's own storage conformance suite: vote, append, truncate, purge, log state,
/// membership from log and state machine, snapshot build/install/get.
#[test]
fn rocks_stores_pass_the_openraft_storage_suite() {
    TypeConfig::run(async {
        Suite::test_all(RocksBuilder).await.expect("storage suite");
    });
}
