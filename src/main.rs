//! The `bomc` binary: arguments → subcommand → exit code.

/// jemalloc rather than the C library's allocator: bomc builds and drops
/// many small trees, and malloc and free were a quarter of its instructions.
/// Measured (docs/performance.md): `bomc diff` of 1,000 services 0.59 → 0.50 s,
/// with less peak memory; `bomc build` no more memory. mimalloc was faster
/// still on some runs but slower on others and took more memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    bomc::cli::run()
}
