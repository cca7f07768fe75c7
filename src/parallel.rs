//! Work shared out over two cores, the results taken in order, so the output
//! is the same as one thread's. `check` runs the bare landscape and each
//! environment this way (they share only the parsed program), and the
//! CloudFormation emitter writes its templates' texts this way.
//!
//! The two cores are a rayon pool of two threads, the command line's own
//! and one it starts before it reads anything ([`run_on_two_cores`]): work
//! handed to the other core starts as soon as that thread wakes, tens of
//! microseconds, where a thread started for it took 0.5–3.6 ms to run
//! (its stack, its jemalloc cache, and a wait for a core), each time work
//! was shared out (docs/performance.md).

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The arena of the second core's thread when each core has its own
/// ([`Arenas::Two`]): made once, on its first use.
static SECOND_ARENA: OnceLock<Option<u32>> = OnceLock::new();

/// Which jemalloc arenas the two cores allocate from. jemalloc gives every
/// thread the one arena it starts with (`narenas:1`, `main.rs`), so that a
/// thread's first allocations, which std makes before the thread can move,
/// never open an arena of their own: with huge pages, each such arena held
/// 2 MiB for a few small blocks. The cores move where they belong as they
/// start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arenas {
    /// Both cores allocate from the arena of the thread that starts them
    /// (with `narenas:1`, the one every thread starts with). Memory
    /// one frees is then reused by the other (compose's by CloudFormation's
    /// split, the syntax trees' by lowering) instead of held by an arena the
    /// other never uses: `bomc build` at N = 10,000 peaked at 261–266 MiB
    /// over 6 runs, against 264–287 with an arena per core, for no wall time
    /// measured at N = 1,000 or 10,000.
    One,
    /// The second core allocates from an arena of its own: `check`'s two
    /// cores evaluate at once, and on one arena they wait on each other's
    /// allocations (N = 10,000: 255 → 297 ms).
    Two,
}

/// Runs `main` on this thread, made the first of two cores, with a second
/// thread started now to take the work it shares out; one job after the
/// other, should that thread not start. On a thread that is already one of
/// two cores, `main` runs as it is.
pub fn run_on_two_cores<T: Send>(arenas: Arenas, main: impl FnOnce() -> T + Send) -> T {
    start_cores(arenas, WORKER_STACK, main)
}

/// [`run_on_two_cores`], the second core's thread given a stack of `stack`
/// bytes (the tests ask for one no thread can have).
fn start_cores<T: Send>(arenas: Arenas, stack: usize, main: impl FnOnce() -> T + Send) -> T {
    if rayon_core::current_thread_index().is_some() {
        return main();
    }
    let first = this_arena();
    // This thread joins the pool as it is (the start handler runs only on
    // the thread started), so nothing waits for a thread to take `main`.
    let pool = rayon_core::ThreadPoolBuilder::new()
        .num_threads(2)
        .use_current_thread()
        .stack_size(stack)
        .thread_name(|i| format!("bomc-core-{i}"))
        .start_handler(move |_| {
            move_to_arena(match arenas {
                Arenas::Two => second_arena(),
                Arenas::One => first,
            });
        })
        .build();
    match pool {
        Ok(pool) => pool.install(main),
        // rayon has made this thread the first of a pool whose second never
        // started: work it would share out stays in its own queue, and
        // `Sharing` runs it here at once.
        Err(_) => {
            let _alone = Sharing::set(true);
            main()
        }
    }
}

/// The jemalloc arena this thread allocates from.
fn this_arena() -> Option<u32> {
    arena_read(c"thread.arena")
}

/// The arena index `name` gives (`thread.arena` reads this thread's,
/// `arenas.create` makes one with the default extent hooks and gives it).
fn arena_read(name: &std::ffi::CStr) -> Option<u32> {
    let (mut arena, mut len) = (0u32, std::mem::size_of::<u32>());
    // SAFETY: both names give an unsigned, read into `arena`, whose size
    // `len` gives; no value is written. `name` is NUL-terminated.
    let read = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            (&raw mut arena).cast(),
            &raw mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (read == 0).then_some(arena)
}

/// The second core's arena under [`Arenas::Two`], made on first use.
fn second_arena() -> Option<u32> {
    *SECOND_ARENA.get_or_init(|| arena_read(c"arenas.create"))
}

/// Moves this thread to `arena`; an arena jemalloc refuses, or none, leaves
/// it where it is.
fn move_to_arena(arena: Option<u32>) {
    let Some(mut arena) = arena else {
        return;
    };
    // SAFETY: `thread.arena` is an unsigned written from `arena`, of the
    // size given; nothing is read. The name is NUL-terminated.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"thread.arena".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&raw mut arena).cast(),
            std::mem::size_of::<u32>(),
        );
    }
}

/// Each core's stack: as deep as the main thread's usually is (8 MiB), and
/// more. Evaluation recurses along chains of references, and a thread's
/// default of 2 MiB overflowed on a chain of 600 that the main thread
/// evaluated. Only the pages used are mapped.
const WORKER_STACK: usize = 64 << 20;

std::thread_local! {
    /// Whether this thread is one of the two cores of an [`on_two_cores`]
    /// (or the second of a [`beside`]): work it shares out again runs here,
    /// one job after the other, since both cores are busy already (`check`
    /// checks its environments on two cores, and each environment's
    /// emission would share out again).
    static SHARING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// [`SHARING`] set for as long as it is held, then put back as it was, if
/// the work it covers panics too.
struct Sharing(bool);

impl Sharing {
    fn set(sharing: bool) -> Self {
        Sharing(SHARING.replace(sharing))
    }
}

impl Drop for Sharing {
    fn drop(&mut self) {
        SHARING.set(self.0);
    }
}

/// Whether this thread is already one of two sharing the cores: what it
/// shares out runs here, one job after the other.
pub(crate) fn sharing() -> bool {
    SHARING.get()
}

/// `work` on every job, on this core and the other, each taking the next
/// job as it finishes one; the results come back in the jobs' order.
pub(crate) fn on_two_cores<J: Sync, T: Send>(jobs: &[J], work: impl Fn(&J) -> T + Sync) -> Vec<T> {
    if SHARING.get() {
        return jobs.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    // Each result with its job's index: the other core takes jobs out of
    // turn.
    let worker = || {
        let _sharing = Sharing::set(true);
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else {
                return done;
            };
            done.push((i, work(job)));
        }
    };
    let mut done = if jobs.len() < 2 {
        worker()
    } else {
        let (mut here, there) = rayon_core::join(worker, worker);
        here.extend(there);
        here
    };
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}

/// [`on_two_cores`] on jobs that `work` takes by value (to move what they
/// hold into its result), each handed over once.
pub(crate) fn on_two_cores_taking<J: Send, T: Send>(
    jobs: Vec<J>,
    work: impl Fn(J) -> T + Sync,
) -> Vec<T> {
    let slots: Vec<Mutex<Option<J>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    on_two_cores(&slots, |slot| {
        let taken = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(job) = taken else {
            unreachable!("each job is taken once, by the core that runs it")
        };
        work(job)
    })
}

/// `other` on the other core and `here` on this one, at once. Work that
/// `other` shares out stays on its core ([`on_two_cores`]); `here` may
/// share out, to use both cores once `other` is done. Should the other core
/// be busy until `here` is done, `other` runs here after it, free to share
/// out. On a core that is already one of two, both run here, one after the
/// other.
pub(crate) fn beside<A: Send, B: Send>(
    other: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B + Send,
) -> (A, B) {
    if SHARING.get() {
        let a = other();
        return (a, here());
    }
    let (b, a) = rayon_core::join_context(
        |_| here(),
        |there| {
            let _sharing = Sharing::set(there.migrated());
            other()
        },
    );
    (a, b)
}

/// `a` and `b` at once, on the two cores, each free to share out its own
/// stages: `diff`'s two versions.
pub(crate) fn both<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    rayon_core::join(a, b)
}

/// `first` and then `then` on every job, as [`on_two_cores`] does, with every
/// job's first half queued before any second half. Three whole jobs keep one
/// core idle while the third runs; six halves keep both busy to the last.
/// A second half waits for its first if the other core is still on it.
/// One job runs here, both halves, free to share each out over both cores
/// (`check` of a single landscape evaluates and lowers it in halves).
pub(crate) fn in_two_stages<J: Sync, A: Send, T: Send>(
    jobs: &[J],
    first: impl Fn(&J) -> A + Sync,
    then: impl Fn(&J, A) -> T + Sync,
) -> Vec<T> {
    if let [only] = jobs {
        return vec![then(only, first(only))];
    }
    // A first half's panic is kept for its second half to raise again: the
    // core waiting on it must not wait for ever.
    let halfway: Vec<OnceLock<Mutex<Option<std::thread::Result<A>>>>> =
        jobs.iter().map(|_| OnceLock::new()).collect();
    let halves: Vec<usize> = (0..2 * jobs.len()).collect();
    on_two_cores(&halves, |&half| {
        if let Some(job) = jobs.get(half) {
            let result = catch_unwind(AssertUnwindSafe(|| first(job)));
            let _ = halfway[half].set(Mutex::new(Some(result)));
            return None;
        }
        let i = half - jobs.len();
        let taken = halfway[i]
            .wait()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let Some(result) = taken else {
            unreachable!("first half {i} is taken once, by its own second half")
        };
        match result {
            Ok(evaluated) => Some(then(&jobs[i], evaluated)),
            Err(panic) => resume_unwind(panic),
        }
    })
    .into_iter()
    .flatten()
    .collect()
}

/// Waits, a minute at most, until `flag` is set: whether it was. For tests
/// that hold one core until the other has begun.
#[cfg(test)]
pub(crate) fn until(flag: &std::sync::atomic::AtomicBool) -> bool {
    let start = std::time::Instant::now();
    while !flag.load(Ordering::Acquire) {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::until;
    use super::{
        Arenas, beside, both, in_two_stages, on_two_cores, run_on_two_cores, second_arena, sharing,
        start_cores, this_arena,
    };
    use std::sync::atomic::{AtomicBool, Ordering};

    /// `beside` on the two cores, `here` waiting until `other` has begun:
    /// which threads ran each, and what `at_once` saw on each.
    fn at_once<T: Send>(
        at_once: impl Fn() -> T + Sync,
    ) -> ((std::thread::ThreadId, T), (std::thread::ThreadId, T, bool)) {
        let begun = AtomicBool::new(false);
        beside(
            || {
                begun.store(true, Ordering::Release);
                (std::thread::current().id(), at_once())
            },
            || (std::thread::current().id(), at_once(), until(&begun)),
        )
    }

    /// Work of uneven length: every third job takes far longer than the rest,
    /// so the two workers interleave unevenly.
    fn uneven(n: u64) -> u64 {
        let spins = if n.is_multiple_of(3) { 200_000 } else { 10 };
        let busy = (0..spins).fold(0u64, |acc, i| std::hint::black_box(acc ^ i));
        n + u64::from(busy == u64::MAX)
    }

    /// Jobs taken by value are each run once, their results in the jobs'
    /// order, what they held moved into them.
    #[test]
    fn jobs_taken_by_value_give_their_results_in_order() {
        let jobs: Vec<Vec<u64>> = (0..64).map(|n| vec![n; 3]).collect();
        let results = super::on_two_cores_taking(jobs, |mut job| {
            job.push(uneven(job[0]));
            job
        });
        let expected: Vec<Vec<u64>> = (0..64).map(|n| vec![n; 4]).collect();
        assert_eq!(results, expected);
        assert!(super::on_two_cores_taking(Vec::<u64>::new(), |n| n).is_empty());
    }

    #[test]
    fn two_cores_give_the_results_in_the_jobs_order() {
        let jobs: Vec<u64> = (0..64).collect();
        assert_eq!(on_two_cores(&jobs, |&n| uneven(n)), jobs);
        assert!(on_two_cores(&[] as &[u64], |&n| n).is_empty());
        assert_eq!(on_two_cores(&[7u64], |&n| n * 2), vec![14]);
    }

    /// On the two cores, `other` runs on the second at once, and what it
    /// shares out stays there; `here` is free to share out.
    #[test]
    fn beside_runs_other_on_the_other_core_keeping_its_shared_out_work_there() {
        let ((there, other), (here, mine, met)) = run_on_two_cores(Arenas::Two, || {
            at_once(|| {
                let jobs: Vec<u64> = (0..16).collect();
                let threads = on_two_cores(&jobs, |_| std::thread::current().id());
                (super::sharing(), threads.iter().all(|t| *t == threads[0]))
            })
        });
        assert!(met, "`other` did not run while `here` did");
        assert_ne!(there, here);
        assert_eq!(other, (true, true));
        assert!(!mine.0);
        // From a core already sharing, both stay on it.
        let jobs = [0u64, 1];
        let pairs = on_two_cores(&jobs, |_| {
            let (a, b) = super::beside(
                || std::thread::current().id(),
                || std::thread::current().id(),
            );
            (a == b) && a == std::thread::current().id()
        });
        assert_eq!(pairs, vec![true, true]);
    }

    /// `both` runs its two at once, neither marked as sharing.
    #[test]
    fn both_runs_its_two_at_once_each_free_to_share_out() {
        let begun = AtomicBool::new(false);
        let (a, b) = run_on_two_cores(Arenas::Two, || {
            both(
                || (until(&begun), super::sharing()),
                || {
                    begun.store(true, Ordering::Release);
                    super::sharing()
                },
            )
        });
        assert_eq!(a, (true, false));
        assert!(!b);
    }

    /// Work shared out from a core that is already one of two runs on that
    /// core, and the caller's thread is free to share out again after.
    #[test]
    fn work_shared_out_again_stays_on_its_core() {
        let jobs: Vec<u64> = (0..8).collect();
        let threads = on_two_cores(&jobs, |&n| {
            let inner: Vec<std::thread::ThreadId> =
                on_two_cores(&jobs, |_| std::thread::current().id());
            assert!(inner.iter().all(|t| *t == std::thread::current().id()));
            uneven(n)
        });
        assert_eq!(threads, jobs);
        assert!(!super::SHARING.get());
    }

    #[test]
    fn each_second_half_gets_its_own_first_half_in_the_jobs_order() {
        let jobs: Vec<u64> = (0..64).collect();
        let results = in_two_stages(&jobs, |&n| uneven(n) * 10, |&n, a| (n, uneven(a)));
        let expected: Vec<(u64, u64)> = jobs.iter().map(|&n| (n, n * 10)).collect();
        assert_eq!(results, expected);
        assert!(in_two_stages(&[] as &[u64], |&n| n, |_, a| a).is_empty());
        assert_eq!(in_two_stages(&[3u64], |&n| n + 1, |&n, a| n * a), vec![12]);
    }

    /// A single job runs on the calling thread, not on a core already
    /// sharing: work it shares out again still gets both cores.
    #[test]
    fn one_job_is_run_here_free_to_share_out() {
        let here = std::thread::current().id();
        let ran = in_two_stages(
            &[()],
            |()| (std::thread::current().id(), super::sharing()),
            |(), first| (first, std::thread::current().id(), super::sharing()),
        );
        assert_eq!(ran, vec![((here, false), here, false)]);
    }

    /// A panic in a first half reaches the caller; it does not leave the other
    /// core waiting for a result that never comes (the test waits a minute
    /// at most, so a hang fails it).
    #[test]
    fn a_panic_in_a_first_half_is_raised_not_waited_for() {
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let jobs: Vec<u64> = (0..8).collect();
            let outcome = std::panic::catch_unwind(|| {
                in_two_stages(
                    &jobs,
                    |&n| {
                        assert!(n != 5, "first half of job 5");
                        uneven(n)
                    },
                    |_, a| a,
                )
            });
            let _ = sent.send(outcome.is_err());
        });
        let raised = received.recv_timeout(std::time::Duration::from_secs(60));
        assert_eq!(raised, Ok(true));
    }

    /// The second core's arena is made once, apart from the first's.
    #[test]
    fn the_second_cores_arena_is_made_once_apart_from_the_first() {
        let second = second_arena();
        assert!(second.is_some());
        assert_ne!(second, this_arena());
        assert_eq!(second_arena(), second);
    }

    /// With an arena each, the thread that starts the cores keeps its
    /// arena and the second allocates from the one made for it; with one,
    /// both from the starter's. Each on a thread of its own: a thread is
    /// one of two cores once, for the rest of its life.
    #[test]
    fn the_cores_allocate_from_the_arenas_chosen() {
        let on_fresh_thread = |arenas| {
            std::thread::spawn(move || {
                let starter = this_arena();
                let ((there, other), (here, mine, met)) =
                    run_on_two_cores(arenas, || at_once(this_arena));
                assert!(met && there != here);
                assert_eq!(here, std::thread::current().id());
                (starter, other, mine)
            })
            .join()
            .expect("ran")
        };
        let (starter, other, mine) = on_fresh_thread(Arenas::Two);
        assert!(starter.is_some());
        assert_eq!((other, mine), (second_arena(), starter));
        assert_ne!(other, mine);
        let (starter, other, mine) = on_fresh_thread(Arenas::One);
        assert!(starter.is_some());
        assert_eq!((other, mine), (starter, starter));
    }

    /// Should the second core's thread not start (here: a stack no thread
    /// can have), everything runs on this thread, one job after the other,
    /// with the results two cores give, and nothing waits for the core that
    /// never came.
    #[test]
    fn without_a_second_thread_everything_runs_here() {
        std::thread::spawn(|| {
            let here = std::thread::current().id();
            let on = || std::thread::current().id();
            let jobs: Vec<u64> = (0..12).collect();
            let ran = start_cores(Arenas::Two, 1 << 60, || {
                let threads = on_two_cores(&jobs, |_| on());
                let staged = in_two_stages(&jobs, |j| j * 2, |_, twice| (twice + 1, on()));
                let (beside_other, beside_here) = beside(on, on);
                let (first, second) = both(on, on);
                (
                    sharing(),
                    threads,
                    staged,
                    [beside_other, beside_here, first, second],
                )
            });
            let (alone, threads, staged, pairs) = ran;
            assert!(alone);
            assert!(threads.iter().chain(&pairs).all(|t| *t == here));
            let expected: Vec<u64> = jobs.iter().map(|j| j * 2 + 1).collect();
            assert_eq!(staged.iter().map(|(v, _)| *v).collect::<Vec<_>>(), expected);
            assert!(staged.iter().all(|(_, t)| *t == here));
        })
        .join()
        .expect("ran");
    }

    /// A thread that is already one of two cores runs what it is given as
    /// it is, on the cores it has.
    #[test]
    fn the_cores_are_started_once_per_thread() {
        std::thread::spawn(|| {
            let pools = run_on_two_cores(Arenas::Two, || {
                let outer = rayon_core::current_num_threads();
                let inner = run_on_two_cores(Arenas::One, rayon_core::current_num_threads);
                (outer, inner, rayon_core::current_thread_index())
            });
            assert_eq!(pools, (2, 2, Some(0)));
        })
        .join()
        .expect("ran");
    }
}
