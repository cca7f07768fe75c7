//! `bomc reap`: take down expired ephemeral environment instances on this
//! host (`docker compose -p PROJECT down --volumes`). Persistent and live
//! instances are never touched; `--dry-run` only prints the commands.

use super::ReapArgs;
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: &ReapArgs) -> ExitCode {
    let now = match super::build::now(args.now.as_deref()) {
        Ok(n) => n,
        Err(d) => {
            let _ = writeln!(std::io::stderr(), "error[{}]: {}", d.code.code(), d.message);
            return ExitCode::from(1);
        }
    };
    let expired: Vec<super::envs::Instance> = super::envs::instances(&args.out, now)
        .into_iter()
        .filter(|i| i.lifetime == "ephemeral" && i.expired)
        .collect();
    let mut out = std::io::stdout();
    if expired.is_empty() {
        let _ = writeln!(
            out,
            "nothing to reap: no expired ephemeral environment in {}",
            args.out.display()
        );
        return ExitCode::SUCCESS;
    }
    let mut failed = false;
    for i in &expired {
        let command = [
            "docker",
            "compose",
            "--project-name",
            &i.project,
            "down",
            "--volumes",
            "--remove-orphans",
        ];
        let _ = writeln!(
            out,
            "{} # {}/{} expired {}",
            command.join(" "),
            i.landscape,
            i.instance,
            i.expires.as_deref().unwrap_or("")
        );
        if args.dry_run {
            continue;
        }
        match std::process::Command::new(command[0])
            .args(&command[1..])
            .status()
        {
            Ok(status) if status.success() => {}
            Ok(status) => {
                failed = true;
                let _ = writeln!(
                    std::io::stderr(),
                    "`{}` failed ({status})",
                    command.join(" ")
                );
            }
            Err(err) => {
                failed = true;
                let _ = writeln!(
                    std::io::stderr(),
                    "cannot run docker: {err}; use --dry-run to print the commands"
                );
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
