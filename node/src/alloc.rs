//! The node's memory allocator (ADR 19).
//!
//! Rust's allocations go to mimalloc: with glibc's malloc (one arena, below) the malloc
//! family was ~12 % of the CPU samples at 64 clients, much of it in `malloc_consolidate`
//! and `unlink_chunk`, and mimalloc took 11–17 % off the servers' CPU per acquire+release
//! (docs/benchmarks.md). By default it commits its arenas eagerly, which cost 33 MiB at
//! start and left 213 MiB resident at 100,000 held locks (target: under 200); committing on
//! demand gives 166–169 MiB, as glibc did, and the speed stays.
//!
//! RocksDB's C++ allocations still go to glibc, limited to one arena: glibc gives each
//! thread that contends an arena of its own, and memory freed into one is not reused by
//! another (ADR 17).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's option numbers (`mi_option_e` in its `mimalloc.h`), which the Rust bindings do
/// not all name. Read from mimalloc 3.3.2; the crates are pinned, and a test fails if the
/// bundled version changes, so that these are read again.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// mimalloc maps its first arena at the first allocation, before `main`: set the option
/// before that, from the ELF constructors, which run before Rust's runtime allocates. (An
/// option set later applies to later arenas only: set at the top of `main`, an idle node
/// kept 83 MiB resident instead of 50.)
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static CONFIGURE_BEFORE_MAIN: extern "C" fn() = {
    extern "C" fn configure_before_main() {
        configure();
    }
    configure_before_main
};

/// Runs before `main` (above), before any thread starts. A setting in the environment
/// (`MIMALLOC_ARENA_EAGER_COMMIT`, `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`) wins.
pub fn configure() {
    // `getenv`, not `std::env`: nothing here may allocate before the option is set.
    // SAFETY: reads the environment before any thread could change it.
    if unsafe { libc::getenv(c"MIMALLOC_ARENA_EAGER_COMMIT".as_ptr()) }.is_null() {
        // SAFETY: sets a tunable; mimalloc reads options atomically.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as above.
    if unsafe { libc::getenv(c"MALLOC_ARENA_MAX".as_ptr()) }.is_null() {
        // SAFETY: `mallopt` only sets a tunable; no other thread exists yet.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as above.
    if unsafe { libc::getenv(c"MALLOC_MMAP_THRESHOLD_".as_ptr()) }.is_null() {
        // SAFETY: as above.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, GLIBC_MMAP_THRESHOLD_BYTES) };
    }
}

/// glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB),
/// and what large blocks leave free below it stays resident; RocksDB's blocks are large.
/// Fixed at 1 MiB, they are mapped on their own and given back when freed (ADR 17).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const GLIBC_MMAP_THRESHOLD_BYTES: libc::c_int = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    const MIMALLOC_VERSION: i32 = 30302;

    #[test]
    fn the_option_numbers_belong_to_the_bundled_mimalloc() {
        // SAFETY: reads a constant.
        let version = unsafe { libmimalloc_sys::mi_version() };
        assert_eq!(version, MIMALLOC_VERSION, "mimalloc changed: read the option numbers again from its mimalloc.h");
    }

    #[test]
    fn configure_commits_arenas_on_demand() {
        // SAFETY: sets a tunable (back to mimalloc's default).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 2) };
        configure();
        // SAFETY: reads a tunable.
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) }, 0);
    }
}
