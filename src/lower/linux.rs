//! A container's process settings that one target may not offer: env files,
//! profiles, Linux capabilities, ulimits and sysctls. Each is carried to
//! compose as written; on CloudFormation what ECS on Fargate offers becomes
//! the container's `LinuxParameters`, `Ulimits` and `SystemControls`, and
//! the rest is refused (E0324) unless the component is left out of it.

use super::plan::{Linux, Targets};
use super::workload::{Lowering, entry_span, text};
use crate::diag::ErrorCode;
use crate::model::{Component, Value};

/// The only capability Fargate lets a task add.
pub const FARGATE_ADDABLE: &[&str] = &["SYS_PTRACE"];

/// The resource limits Docker and ECS know (`Ulimit.Name`).
pub const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// The kernel parameters a container may set (namespaced ones, as Docker
/// takes them), which ECS passes as `SystemControls`.
pub fn namespaced_sysctl(name: &str) -> bool {
    name.starts_with("net.")
        || name.starts_with("kernel.shm")
        || name.starts_with("kernel.msg")
        || name == "kernel.sem"
        || name.starts_with("fs.mqueue.")
}

fn strings(c: &Component, setting: &str) -> Vec<String> {
    match c.setting(setting) {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|v| text(v).and_then(|t| t.as_literal()))
            .collect(),
        _ => Vec::new(),
    }
}

impl Lowering<'_> {
    /// What ECS on Fargate has no equivalent for, refused on CloudFormation.
    fn refuse(&mut self, c: &Component, setting: &str, key: &str, what: String) {
        self.error(
            ErrorCode::NoEquivalent,
            entry_span(c, setting, key),
            "not on CloudFormation",
            format!(
                "{what} of `{}` has no equivalent on CloudFormation (ECS on Fargate)",
                c.name
            ),
            "restrict the component to compose with `targets = [\"compose\"]`, or remove it",
        );
    }

    pub(super) fn env_files(&mut self, c: &Component, targets: Targets) -> Vec<String> {
        let files = strings(c, "env_file");
        if targets.cloudformation && !files.is_empty() {
            self.refuse(c, "env_file", "", String::from("`env_file`"));
        }
        files
    }

    pub(super) fn profiles(&mut self, c: &Component, targets: Targets) -> Vec<String> {
        let profiles = strings(c, "profiles");
        if targets.cloudformation && !profiles.is_empty() {
            self.refuse(c, "profiles", "", String::from("`profiles`"));
        }
        profiles
    }

    pub(super) fn linux(&mut self, c: &Component, targets: Targets) -> Linux {
        let caps = c.setting("capabilities").and_then(Value::as_map);
        let list = |k: &str| -> Vec<String> {
            match caps.and_then(|m| m.get(k)) {
                Some(Value::List(items)) => items
                    .iter()
                    .filter_map(|v| {
                        v.as_str()
                            .map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase())
                    })
                    .collect(),
                _ => Vec::new(),
            }
        };
        let (cap_add, cap_drop) = (list("add"), list("drop"));
        if targets.cloudformation {
            for cap in cap_add
                .iter()
                .filter(|c| !FARGATE_ADDABLE.contains(&c.as_str()))
            {
                self.refuse(
                    c,
                    "capabilities",
                    "add",
                    format!("adding capability `{cap}` (Fargate adds only SYS_PTRACE)"),
                );
            }
        }
        let mut ulimits = std::collections::BTreeMap::new();
        for (name, v) in c
            .settings
            .get("ulimits")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
        {
            if !ULIMITS.contains(&name.as_str()) {
                let help = crate::diag::did_you_mean(name, ULIMITS.iter().copied(), |all| {
                    format!("the limits are {}", crate::diag::one_of(&all))
                });
                self.error(
                    ErrorCode::InvalidValue,
                    entry_span(c, "ulimits", name),
                    "in these ulimits",
                    format!("`{name}` is not a resource limit"),
                    &help,
                );
                continue;
            }
            let limit = |v: Option<&Value>| v.and_then(Value::as_int);
            let (soft, hard) = match v {
                Value::Map(m) => (limit(m.get("soft")), limit(m.get("hard"))),
                other => (limit(Some(other)), limit(Some(other))),
            };
            let (Some(soft), Some(hard)) = (soft.or(hard), hard.or(soft)) else {
                continue;
            };
            let unlimited = |n: i64| if n < 0 { i64::MAX } else { n };
            if unlimited(soft) > unlimited(hard) {
                self.error(
                    ErrorCode::OutOfRange,
                    entry_span(c, "ulimits", name),
                    "in these ulimits",
                    format!(
                        "the soft `{name}` limit {soft} of `{}` is above its hard limit {hard}",
                        c.name
                    ),
                    "the soft limit is at most the hard limit",
                );
            }
            ulimits.insert(name.clone(), (soft, hard));
        }
        let mut sysctls = std::collections::BTreeMap::new();
        for (name, v) in c
            .settings
            .get("sysctls")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
        {
            let Some(value) = crate::eval::scalar_text(v) else {
                continue;
            };
            if targets.cloudformation && !namespaced_sysctl(name) {
                self.refuse(c, "sysctls", name, format!("sysctl `{name}` (ECS sets only namespaced ones: `net.*`, `kernel.shm*`, `kernel.msg*`, `kernel.sem`, `fs.mqueue.*`)"));
            }
            sysctls.insert(name.clone(), value);
        }
        Linux {
            cap_add,
            cap_drop,
            ulimits,
            sysctls,
        }
    }
}
