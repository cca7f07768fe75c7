//! The part of the Compose Specification bomc writes, as typed values: field
//! order is output order, maps are `BTreeMap`s (sorted, deterministic), and
//! empty fields are left out.

use serde::Serialize;
use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeMap;

/// The file's entries after `name`, `services` and `networks`, which are
/// written first (`compose::emit`): each service adds the entries it needs
/// (its secrets, its HAProxy configuration, its named volumes).
#[derive(Serialize, Default)]
pub(super) struct ComposeFile {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) volumes: BTreeMap<String, Labelled>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) secrets: BTreeMap<String, SecretSource>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) configs: BTreeMap<String, InlineConfig>,
}

#[derive(Serialize)]
pub(super) struct Labelled {
    pub(super) labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
pub(super) struct SecretSource {
    /// The host environment variable holding the value at `docker compose up`.
    pub(super) environment: String,
}

#[derive(Serialize)]
pub(super) struct InlineConfig {
    pub(super) content: String,
}

#[derive(Serialize, Default)]
pub(super) struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) build: Option<Build>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) working_dir: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) env_file: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) secrets: Vec<SecretMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) configs: Vec<ConfigMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) ports: Vec<Published>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) expose: Vec<Yaml>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) networks: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) volumes: Vec<VolumeMount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) depends_on: BTreeMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) deploy: Option<Deploy>,
    pub(super) restart: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) profiles: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) ulimits: BTreeMap<String, Ulimit>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) sysctls: BTreeMap<String, String>,
    pub(super) labels: BTreeMap<String, String>,
}

/// One ulimit: a number when soft and hard agree.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Ulimit {
    Same(i64),
    Split { soft: i64, hard: i64 },
}

#[derive(Clone, Serialize)]
pub(super) struct Build {
    /// Relative to the compose file's folder.
    pub(super) context: String,
    /// Relative to the context.
    pub(super) dockerfile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) target: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) args: BTreeMap<String, String>,
}

/// A compose secret mounted into a service: the short syntax mounts it at
/// `/run/secrets/<source>`, the long one where `target` says.
#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
pub(super) enum SecretMount {
    Short(String),
    Long { source: String, target: String },
}

#[derive(Serialize)]
pub(super) struct ConfigMount {
    pub(super) source: String,
    pub(super) target: String,
}

#[derive(Serialize)]
pub(super) struct Published {
    pub(super) target: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) host_ip: Option<String>,
    pub(super) published: String,
    pub(super) protocol: &'static str,
}

#[derive(Serialize)]
pub(super) struct VolumeMount {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) source: Option<String>,
    pub(super) target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tmpfs: Option<TmpfsOptions>,
}

#[derive(Serialize)]
pub(super) struct TmpfsOptions {
    /// Bytes.
    pub(super) size: u64,
}

#[derive(Serialize)]
pub(super) struct DependsOn {
    pub(super) condition: &'static str,
}

#[derive(Serialize)]
pub(super) struct Healthcheck {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) test: Vec<String>,
    /// Turns off the image's HEALTHCHECK.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) disable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) start_period: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Deploy {
    pub(super) replicas: u32,
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub(super) resources: Resources,
}

#[derive(Serialize)]
pub(super) struct Resources {
    #[serde(skip_serializing_if = "Limits::is_empty")]
    pub(super) limits: Limits,
    #[serde(skip_serializing_if = "Limits::is_empty")]
    pub(super) reservations: Limits,
}

impl Resources {
    pub(super) fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.reservations.is_empty()
    }
}

impl Limits {
    pub(super) fn is_empty(&self) -> bool {
        self.cpus.is_none() && self.memory.is_none()
    }
}

#[derive(Serialize)]
pub(super) struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) memory: Option<String>,
}
