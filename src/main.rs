//! The `bomc` binary: arguments → subcommand → exit code.

/// jemalloc rather than the C library's allocator: bomc builds and drops
/// many small trees, and malloc and free were a quarter of its instructions.
/// Measured (docs/performance.md): `bomc diff` of 1,000 services 0.59 → 0.50 s,
/// with less peak memory; `bomc build` no more memory. mimalloc was faster
/// still on some runs but slower on others and took more memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, which it reads as it starts, before `main`:
/// transparent huge pages on the memory it maps (the kernel gives them only
/// where asked, `madvise` mode). Each 4 KiB page costs a fault when first
/// touched, some 3–5 µs on these machines: `bomc check` on 1,000 services
/// took 16,700 faults, a fifth of its time, and takes 2,300 with huge pages,
/// for 13 % less wall time and 20 MiB more (docs/performance.md).
/// `bomc build` at N = 1,000 takes 2,600 faults instead of 6,700, 11 % less
/// wall time (76.4 → 68.1 ms median, 61 runs in turn), and N = 10,000
/// 2,100 instead of 76,000, 7 % less CPU.
///
/// One arena to start every thread on (`narenas:1`): a thread allocates
/// before it can choose its arena (std's own start), and jemalloc would
/// open a new arena for it, whose first huge page is 2 MiB of memory for a
/// few small blocks. A build's short-lived threads (the second core's, the
/// freeing's, the syncing's) so raised its peak at N = 1,000 from 42–46 to
/// 52–56 MiB, past its target, which is why `build` once turned huge pages
/// off. Threads that work beside another move to an arena of their own
/// (`parallel::Arenas`), or stay on the build's one.
///
/// And freed memory reused whatever the size of what asks for it
/// (`lg_extent_max_active_fit`, 2^32 instead of 2^6): by default jemalloc
/// carves a new allocation's pages out of a free run at most 64 times its
/// size, which keeps a long-running server's free runs whole, and leaves a
/// short-lived compiler's unused. Memory freed in large runs (the syntax
/// trees, the landscape after lowering, compose's trees) then sat beside
/// emission's fresh pages: `bomc build` at N = 10,000 peaked at 303 MiB
/// without handing those pages back to the system, and at 257–264 MiB with
/// this (8 runs), 88 k page faults instead of 125 k; `check` at 10,000
/// holds 471 instead of 503 MiB.
/// Linux only: elsewhere jemalloc has no transparent huge pages to ask for.
#[cfg(target_os = "linux")]
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_OPTIONS: Options =
    Options(c"thp:always,narenas:1,lg_extent_max_active_fit:32".as_ptr());

/// A C string's address, as jemalloc's `malloc_conf` holds it.
#[cfg(target_os = "linux")]
#[repr(transparent)]
struct Options(*const std::ffi::c_char);

// SAFETY: it points at a constant, NUL-terminated string, never written.
#[cfg(target_os = "linux")]
unsafe impl Sync for Options {}

fn main() -> std::process::ExitCode {
    bomc::cli::run()
}
