//! Work shared out over two cores, the results taken in order, so the output
//! is the same as one thread's. `check` runs the bare landscape and each
//! environment this way (they share only the parsed program), and the
//! CloudFormation emitter writes its templates' texts this way.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The jemalloc arena the threads started here allocate from, once
/// [`one_arena`] has chosen it; `u32::MAX` while they take the second
/// core's ([`second_arena`]).
static ARENA: AtomicU32 = AtomicU32::new(u32::MAX);

/// The arena of the threads started here while [`one_arena`] has chosen
/// none: made once, on the first of them. jemalloc gives every thread the
/// one arena it starts with (`narenas:1`, `main.rs`), so that a thread's
/// first allocations, which std makes before the thread can move, never
/// open an arena of their own: with huge pages, each such arena held 2 MiB
/// for a few small blocks, and a build's short-lived threads (workers, the
/// freeing, the syncing) raised its peak at N = 1,000 from 42–46 to 52–56 MiB.
static SECOND_ARENA: OnceLock<Option<u32>> = OnceLock::new();

/// Makes the threads started from now on allocate from this thread's
/// jemalloc arena, as this one does. Memory one thread frees is then reused
/// by the other (compose's by CloudFormation's split, the syntax trees' by
/// lowering) instead of held by an arena the other never uses: `bomc build`
/// at N = 10,000 peaked at 261–266 MiB over 6 runs, against 264–287 with an
/// arena per thread, for no wall time measured at N = 1,000 or 10,000.
/// `check`, whose two threads both evaluate at once, is slower so
/// (N = 10,000: 671 → 815 ms) and gives its second core's threads an arena
/// of their own ([`second_arena`]).
pub fn one_arena() {
    if let Some(arena) = this_arena() {
        ARENA.store(arena, Ordering::Relaxed);
    }
}

/// The jemalloc arena this thread allocates from.
fn this_arena() -> Option<u32> {
    arena_read(c"thread.arena")
}

/// A new arena, if jemalloc makes one.
fn new_arena() -> Option<u32> {
    arena_read(c"arenas.create")
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

/// The arena of the second core's threads when [`one_arena`] chose none:
/// `check`'s two cores evaluate at once, and on one arena they wait on each
/// other's allocations (N = 10,000: 255 → 297 ms).
fn second_arena() -> Option<u32> {
    *SECOND_ARENA.get_or_init(new_arena)
}

/// Starts `work` on a thread of `scope`, beside the one that calls this,
/// in the arena the threads started here share ([`join_arena`]): for work
/// that runs beside other work without [`beside`]'s sharing of the cores
/// (`diff`'s two versions, each free to share out its own stages).
pub(crate) fn spawn_beside<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    work: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    scope.spawn(|| {
        join_arena();
        work()
    })
}

/// Moves this thread to the arena [`one_arena`] chose, else to the second
/// core's: what a thread started to work beside another calls first.
fn join_arena() {
    let chosen = ARENA.load(Ordering::Relaxed);
    let arena = if chosen == u32::MAX {
        second_arena()
    } else {
        Some(chosen)
    };
    let Some(mut arena) = arena else {
        return;
    };
    // SAFETY: `thread.arena` is an unsigned written from `arena`, of the
    // size given; nothing is read. The name is NUL-terminated. An arena
    // jemalloc refuses leaves the thread on its own.
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

/// The second worker's stack.
const WORKER_STACK: usize = 64 << 20;

std::thread_local! {
    /// Whether this thread is one of the two cores of an [`on_two_cores`]
    /// (or the second of a [`beside`]): work it shares out again runs here,
    /// one job after the other, since both cores are busy already (`check`
    /// checks its environments on two cores, and each environment's
    /// emission would share out again).
    static SHARING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is already one of two sharing the cores: what it
/// shares out runs here, one job after the other.
pub(crate) fn sharing() -> bool {
    SHARING.get()
}

/// `work` on every job, on this thread and one more, each taking the next job
/// as it finishes one; the results come back in the jobs' order.
pub(crate) fn on_two_cores<J: Sync, T: Send>(jobs: &[J], work: impl Fn(&J) -> T + Sync) -> Vec<T> {
    if SHARING.get() {
        return jobs.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let worker = || {
        let outer = SHARING.replace(true);
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else {
                SHARING.set(outer);
                return done;
            };
            done.push((i, work(job)));
        }
    };
    let mut done = if jobs.len() < 2 {
        worker()
    } else {
        std::thread::scope(|s| {
            // As deep a stack as the main thread's usually is (8 MiB), and
            // more: evaluation recurses along chains of references, and a
            // spawned thread's default of 2 MiB overflowed on a chain of 600
            // that the main thread evaluated. Only the pages used are mapped.
            let other = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, || {
                    join_arena();
                    worker()
                });
            let Ok(other) = other else {
                // No second thread: this one does every job.
                return worker();
            };
            let mut done = worker();
            // A panic is bomc's bug: it goes on to the panic hook.
            done.extend(other.join().unwrap_or_else(|panic| resume_unwind(panic)));
            done
        })
    };
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, result)| result).collect()
}

/// `other` on a second thread and `here` on this one, at once. Work that
/// `other` shares out stays on its thread ([`on_two_cores`]); `here` may
/// share out, to use both cores once `other` is done. On a core that is
/// already one of two, both run here, one after the other.
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

pub(crate) fn beside<A: Send, B>(
    other: impl FnOnce() -> A + Send,
    here: impl FnOnce() -> B,
) -> (A, B) {
    if SHARING.get() {
        let a = other();
        return (a, here());
    }
    // Taken by the thread that runs it: the second one, or this one if no
    // second thread could be made.
    let other = Mutex::new(Some(other));
    let run_other = || {
        let taken = other
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        taken.map(|other| other())
    };
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(s, || {
                join_arena();
                SHARING.set(true);
                run_other()
            });
        let b = here();
        let a = match spawned {
            // A panic is bomc's bug: it goes on to the panic hook.
            Ok(thread) => thread.join().unwrap_or_else(|panic| resume_unwind(panic)),
            Err(_) => run_other(),
        };
        let Some(a) = a else {
            unreachable!("`other` is taken once, by the thread that runs it")
        };
        (a, b)
    })
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

#[cfg(test)]
mod tests {
    use super::{
        ARENA, beside, in_two_stages, on_two_cores, one_arena, second_arena, spawn_beside,
        this_arena,
    };

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

    #[test]
    fn beside_runs_both_and_keeps_the_second_threads_shared_out_work_on_it() {
        let here = std::thread::current().id();
        let (other, mine) = super::beside(
            || {
                let jobs: Vec<u64> = (0..16).collect();
                let threads = on_two_cores(&jobs, |_| std::thread::current().id());
                assert!(threads.iter().all(|t| *t == std::thread::current().id()));
                threads[0]
            },
            || {
                assert!(!super::SHARING.get());
                std::thread::current().id()
            },
        );
        assert_ne!(other, here);
        assert_eq!(mine, here);
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

    /// Without a build's one arena, the second core's threads take an
    /// arena made for them, apart from the first core's and the same for
    /// each: `check`'s two cores evaluate at once without waiting on each
    /// other's allocations, and no thread opens another.
    #[test]
    fn the_second_cores_arena_is_made_once_apart_from_the_first() {
        let second = second_arena();
        assert!(second.is_some());
        assert_ne!(second, this_arena());
        assert_eq!(second_arena(), second);
    }

    /// A thread started beside another allocates from the arena the
    /// threads started here share: the build's one once chosen, else the
    /// second core's (another test may choose the build's meanwhile).
    #[test]
    fn a_thread_started_beside_takes_the_shared_arena() {
        let there = std::thread::scope(|s| spawn_beside(s, this_arena).join());
        let there = there.expect("the thread ran");
        let chosen = ARENA.load(std::sync::atomic::Ordering::Relaxed);
        assert!(there.is_some());
        assert!(
            there == second_arena() || there == Some(chosen),
            "{there:?}, second {:?}, chosen {chosen}",
            second_arena()
        );
    }

    /// Once a build chose one arena, the threads it starts allocate from
    /// it, not each from an arena of its own.
    #[test]
    fn after_one_arena_every_thread_started_allocates_from_it() {
        // On a thread of its own, whose arena the process's others share
        // with it from here on (jemalloc is not their allocator in tests).
        std::thread::spawn(|| {
            one_arena();
            let here = this_arena();
            assert!(here.is_some());
            let workers = on_two_cores(&[0, 1, 2, 3], |_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                this_arena()
            });
            let (other, _) = beside(this_arena, || ());
            assert!(workers.iter().all(|a| *a == here), "{workers:?} {here:?}");
            assert_eq!(other, here);
        })
        .join()
        .expect("the same arena");
    }
}
