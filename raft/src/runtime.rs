//! openraft's async runtime: tokio, with randomness that can be seeded.
//!
//! openraft's only randomness is its election timeout and tick phase, drawn from
//! `AsyncRuntime::thread_rng`. In production that is seeded by the OS. Under simulation each
//! host runs its node inside [`LockdRuntime::seeded`], so the draws (and the draws of every
//! task openraft spawns from there) follow from the simulation's seed and a failing run
//! replays exactly (docs/adr/0008-deterministic-simulation.md).
//!
//! openraft-rt's own `DeterministicRng` does the seeding, but panics when a task runs outside
//! a seeded scope; here an unseeded task simply falls back to the OS, so one type config
//! serves the binary and the simulation.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::time::Duration;

use openraft::OptionalSend;
use openraft_rt::{AsyncRuntime, Select2, Select3, Select4};
use openraft_rt_tokio::TokioRuntime;
use rand::SeedableRng;
use rand::rngs::SmallRng;

tokio::task_local! {
    static SEED: Cell<u64>;
}

/// SplitMix64 step: turns one seed into a well-mixed next one.
fn mix(seed: u64, gamma: u64) -> u64 {
    let z = seed.wrapping_add(gamma);
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Takes the current task's seed and advances it, so successive draws differ.
fn take_seed() -> Option<u64> {
    SEED.try_with(|cell| {
        let seed = cell.get();
        cell.set(mix(seed, 0x6a09_e667_f3bc_c908));
        seed
    })
    .ok()
}

#[derive(Debug)]
pub struct LockdRuntime {
    inner: TokioRuntime,
}

impl LockdRuntime {
    /// Runs `future` with openraft's randomness drawn from `seed`, and likewise every task
    /// openraft spawns from inside it (each gets a seed derived from its parent's).
    pub fn seeded<F: Future>(seed: u64, future: F) -> impl Future<Output = F::Output> {
        SEED.scope(Cell::new(seed), future)
    }
}

impl AsyncRuntime for LockdRuntime {
    type JoinError = <TokioRuntime as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <TokioRuntime as AsyncRuntime>::JoinHandle<T>;
    type Sleep = <TokioRuntime as AsyncRuntime>::Sleep;
    type Instant = <TokioRuntime as AsyncRuntime>::Instant;
    type TimeoutError = <TokioRuntime as AsyncRuntime>::TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = <TokioRuntime as AsyncRuntime>::Timeout<R, T>;
    type ThreadLocalRng = SmallRng;
    type Mpsc = <TokioRuntime as AsyncRuntime>::Mpsc;
    type Watch = <TokioRuntime as AsyncRuntime>::Watch;
    type Oneshot = <TokioRuntime as AsyncRuntime>::Oneshot;
    type Mutex<T: OptionalSend + 'static> = <TokioRuntime as AsyncRuntime>::Mutex<T>;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        match take_seed() {
            Some(seed) => TokioRuntime::spawn(SEED.scope(Cell::new(mix(seed, 0x9e37_79b9_7f4a_7c15)), future)),
            None => TokioRuntime::spawn(future),
        }
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        TokioRuntime::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        TokioRuntime::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(duration: Duration, future: F) -> Self::Timeout<R, F> {
        TokioRuntime::timeout(duration, future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(deadline: Self::Instant, future: F) -> Self::Timeout<R, F> {
        TokioRuntime::timeout_at(deadline, future)
    }

    fn select2<A, B>(a: A, b: B) -> impl Future<Output = Select2<A::Output, B::Output>> + OptionalSend
    where
        A: Future + OptionalSend,
        B: Future + OptionalSend,
    {
        TokioRuntime::select2(a, b)
    }

    fn select3<A, B, C>(
        a: A,
        b: B,
        c: C,
    ) -> impl Future<Output = Select3<A::Output, B::Output, C::Output>> + OptionalSend
    where
        A: Future + OptionalSend,
        B: Future + OptionalSend,
        C: Future + OptionalSend,
    {
        TokioRuntime::select3(a, b, c)
    }

    fn select4<A, B, C, D>(
        a: A,
        b: B,
        c: C,
        d: D,
    ) -> impl Future<Output = Select4<A::Output, B::Output, C::Output, D::Output>> + OptionalSend
    where
        A: Future + OptionalSend,
        B: Future + OptionalSend,
        C: Future + OptionalSend,
        D: Future + OptionalSend,
    {
        TokioRuntime::select4(a, b, c, d)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        TokioRuntime::is_panic(join_error)
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        match take_seed() {
            Some(seed) => SmallRng::seed_from_u64(seed),
            None => rand::make_rng(),
        }
    }

    fn new(threads: usize) -> Self {
        LockdRuntime { inner: TokioRuntime::new(threads) }
    }

    fn block_on<F, T>(&mut self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.inner.block_on(future)
    }

    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = Result<T, io::Error>> + Send
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        TokioRuntime::spawn_blocking(f)
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    async fn draws() -> (u64, u64) {
        let here = LockdRuntime::thread_rng().next_u64();
        let spawned = LockdRuntime::spawn(async { LockdRuntime::thread_rng().next_u64() }).await.expect("no panic");
        (here, spawned)
    }

    #[tokio::test]
    async fn the_same_seed_draws_the_same_numbers_here_and_in_spawned_tasks() {
        let first = LockdRuntime::seeded(7, draws()).await;
        let again = LockdRuntime::seeded(7, draws()).await;
        let other = LockdRuntime::seeded(8, draws()).await;
        assert_eq!(first, again);
        assert_ne!(first, other);
        assert_ne!(first.0, first.1, "a spawned task gets its own stream");
    }

    #[tokio::test]
    async fn outside_a_seeded_scope_it_draws_from_the_os_instead_of_panicking() {
        let (a, b) = draws().await;
        let (c, d) = draws().await;
        assert!(a != c || b != d);
    }
}
