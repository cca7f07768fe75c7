//! The `bomc` binary: arguments → subcommand → exit code.

fn main() -> std::process::ExitCode {
    bomc::cli::run()
}
