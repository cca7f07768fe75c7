//! The image's HEALTHCHECK, as the plan decided it, in Dockerfile syntax.

use super::encode::json_array;
use crate::lower::plan::{Check, Health};

/// `2s`, `1500ms`: a Go duration, as HEALTHCHECK options take them.
pub(super) fn go_duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The command HEALTHCHECK runs, in exec form: the probe for HTTP and TCP
/// checks, the command itself, or a shell command as `/bin/sh -c` (what
/// Docker's shell form runs, but with the command kept as one JSON string).
pub(super) fn command(check: &Check) -> Vec<String> {
    match check {
        Check::Http { .. } | Check::Tcp { .. } => check.probe_command().unwrap_or_default(),
        Check::Exec { command } => command.clone(),
        Check::Shell { command } => {
            vec![String::from("/bin/sh"), String::from("-c"), command.clone()]
        }
    }
}

/// What follows `HEALTHCHECK`: options and `CMD [...]`, or `NONE`.
pub(super) fn healthcheck(health: Option<&Health>) -> String {
    let Some(h) = health else {
        return String::from("NONE");
    };
    let mut words = Vec::new();
    for (ms, flag) in [
        (h.interval_ms, "interval"),
        // Docker's own default is 30 s; compose and ECS run it with 5 s.
        (Some(h.timeout_or_default_ms()), "timeout"),
        (h.start_period_ms, "start-period"),
    ] {
        if let Some(ms) = ms {
            words.push(format!("--{flag}={}", go_duration(ms)));
        }
    }
    if let Some(n) = h.unhealthy.filter(|n| *n > 0) {
        words.push(format!("--retries={n}"));
    }
    words.push(format!("CMD {}", json_array(&command(&h.check))));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::plan::EcsHealth;

    fn health(check: Check) -> Health {
        Health {
            check,
            interval_ms: Some(2000),
            timeout_ms: Some(1500),
            start_period_ms: None,
            healthy: Some(2),
            unhealthy: Some(3),
            ecs: EcsHealth {
                interval_s: 5,
                timeout_s: 2,
                retries: 3,
                start_period_s: 0,
            },
        }
    }

    #[test]
    fn every_check_is_an_exec_form_command() {
        assert_eq!(healthcheck(None), "NONE");
        assert_eq!(
            healthcheck(Some(&health(Check::Http {
                port: 9000,
                path: String::from("/health")
            }))),
            r#"--interval=2s --timeout=1500ms --retries=3 CMD ["/usr/local/bin/bomc-healthcheck", "http://127.0.0.1:9000/health"]"#
        );
        assert_eq!(
            command(&Check::Tcp { port: 6379 }),
            ["/usr/local/bin/bomc-healthcheck", "tcp://127.0.0.1:6379"]
        );
        // A shell command stays one string: quotes and `]` cannot end the array.
        let shell = healthcheck(Some(&health(Check::Shell {
            command: String::from("wget -q -O- \"http://x/\"] && echo ok # x"),
        })));
        let argv: Vec<String> =
            serde_json::from_str(shell.split_once("CMD ").expect("CMD").1).expect("JSON");
        assert_eq!(
            argv,
            ["/bin/sh", "-c", "wget -q -O- \"http://x/\"] && echo ok # x"]
        );
    }
}
