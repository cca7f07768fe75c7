//! The plan: one typed, target-neutral description of an environment
//! instance, the only input of the emitters. Every decision that is not about
//! a target's syntax — defaults, sizing, names, health, secrets, ports,
//! endpoints — is taken once, by `lower`, and recorded here; the emitters
//! only translate.

use crate::diag::Diagnostic;
use crate::graph::Access;
use crate::model::Value;
use crate::source::Span;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One environment instance, lowered.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub instance: Instance,
    /// In declaration order.
    pub workloads: Vec<Workload>,
    /// The images bomc builds, bases first.
    pub images: Vec<BuildImage>,
    /// How the images are published to a registry for the cloud.
    pub publish: Publish,
    /// Component names, dependencies first.
    pub start_order: Vec<String>,
    /// Component → who may connect to it, on which ports (least privilege).
    pub access: BTreeMap<String, Vec<Access>>,
    /// Every secret a workload reads, by name, with its names on compose.
    pub secrets: BTreeMap<String, SecretNames>,
    /// What bomc changed or ignored on its own (`W` codes), for every target.
    #[serde(skip)]
    pub warnings: Vec<Diagnostic>,
}

/// Who, where, and for how long.
#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    pub landscape: String,
    /// `production`, or `default` for the bare landscape.
    pub environment: String,
    /// `production`, `story-us-217`.
    pub instance: String,
    /// `messenger-story-us-217`: compose project and stack name.
    pub project: String,
    /// The `.bom` file as the user named it.
    pub source: String,
    /// Its folder, against which build contexts resolve.
    pub source_dir: PathBuf,
    /// The folder this instance's files are written to
    /// (`<out>/<landscape>/<instance>`), so emitted paths can be relative.
    pub output_dir: PathBuf,
    /// Which block of host ports this instance publishes in.
    pub port_block: u32,
    pub lifetime: Lifetime,
    pub purpose: Option<String>,
    pub shared: Shared,
    /// The VPC and subnets it runs in on the cloud.
    pub network: Network,
    /// Labels / tags carried by everything emitted for this instance.
    pub labels: BTreeMap<String, String>,
    /// The tags of cloud resources: the labels, but `ttl` for `expires` — a
    /// stack's expiry is counted from its creation, unknown at build time.
    pub tags: BTreeMap<String, String>,
    /// The one-line generated-file notice.
    pub header: String,
}

impl Instance {
    pub fn is_ephemeral(&self) -> bool {
        matches!(self.lifetime, Lifetime::Ephemeral { .. })
    }

    /// RFC 3339 expiry of an ephemeral instance.
    pub fn expires(&self) -> Option<&str> {
        match &self.lifetime {
            Lifetime::Ephemeral { expires, .. } => Some(expires),
            Lifetime::Persistent => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Lifetime {
    Persistent,
    Ephemeral {
        ttl_seconds: u64,
        /// RFC 3339, from the build time plus the TTL.
        expires: String,
    },
}

/// Long-lived infrastructure an environment attaches to instead of creating it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Shared {
    pub cluster: Option<String>,
    pub listener: Option<String>,
    pub load_balancer_dns: Option<String>,
    pub load_balancer_security_group: Option<String>,
    /// The first rule priority on the shared listener, when the environment
    /// sets it (else derived from the host name).
    pub listener_priority: Option<u32>,
}

/// The network of an environment on the cloud.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "vpc")]
pub enum Network {
    /// Existing VPC and subnets, given as stack parameters.
    Existing,
    /// The stack creates a VPC in two availability zones: a public and a
    /// private subnet in each (the VPC's block cut in four), an internet
    /// gateway, NAT gateways for the private subnets' egress (image pulls,
    /// AWS APIs), and — in persistent environments — a flow log.
    Create {
        /// `10.0.0.0/16`.
        cidr: String,
        /// Prefix length of each of the four subnets.
        subnet_prefix: u32,
        /// 1 (in the first zone, for both), or 2 (one per zone).
        nat_gateways: u32,
        flow_logs: bool,
    },
}

/// A secret's names on compose.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SecretNames {
    /// The top-level `secrets:` key.
    pub key: String,
    /// The host environment variable holding the value when the stack starts.
    pub variable: String,
}

/// One component, with every setting decided.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    pub name: String,
    /// The component's kind: `mysql`, `service`, `go_backend`.
    pub kind: String,
    /// Logical-id prefix on CloudFormation (`auth-db` → `AuthDb`), unique.
    pub id: String,
    pub role: Role,
    pub image: ImageSource,
    pub command: Option<Vec<Text>>,
    /// Replaces the image's entrypoint; behind the secrets shim when the
    /// image bomc builds delivers secrets through it.
    pub entrypoint: Option<Vec<Text>>,
    /// The user (`1000:1000`) and working directory the process runs with.
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// The restart policy on compose: `unless-stopped` for services and
    /// `no` for jobs unless the component says otherwise. (ECS replaces the
    /// tasks of a service whatever it says.)
    pub restart: String,
    pub ports: Vec<Port>,
    pub env: Vec<EnvVar>,
    pub health: Option<Health>,
    /// `health { command = ["NONE"] }`: the image's own HEALTHCHECK turned off.
    pub health_disabled: bool,
    pub volumes: Vec<Volume>,
    /// Bind mounts, read-only volumes and tmpfs, in container-path order.
    pub mounts: Vec<Mount>,
    /// The targets it is built for.
    pub targets: Targets,
    /// Files of environment variables (compose), relative to the main `.bom`
    /// file's folder, or absolute.
    pub env_files: Vec<String>,
    /// Compose profiles it belongs to (none: always started).
    pub profiles: Vec<String>,
    /// The container's kernel settings.
    pub linux: Linux,
    pub replicas: u32,
    /// vCPUs per copy: what the component says, else 0.25 (sizes Fargate).
    pub cpu: f64,
    /// MiB per copy: what the component says, else 512 (sizes Fargate).
    pub memory_mib: u64,
    /// The limits the component (or its kind) wrote: compose limits them;
    /// defaults it never wrote are not limits.
    pub limits: Resources,
    /// What `reserve { }` guarantees each copy.
    pub reservations: Resources,
    /// Persistent data, GiB (managed services).
    pub storage_gib: Option<u64>,
    /// The Fargate size of a container (CPU units, MiB): at least what it asks for.
    pub fargate: Option<(u32, u32)>,
    /// How clients reach it on each target.
    pub endpoints: Endpoints,
    /// Reachable from outside the landscape (published ports on compose).
    pub public: bool,
    pub stateful: bool,
    /// What it waits for before starting.
    pub depends_on: Vec<Dependency>,
    /// Host ports published on compose, one range per served port.
    pub published: Vec<Published>,
    /// A job: how long a deployment waits for it to finish, in seconds; its
    /// dependents start only after it exited 0.
    pub run_timeout_s: Option<u64>,
    /// The component's own labels.
    pub labels: BTreeMap<String, String>,
    /// The raw `compose { }` keys, merged into the service last.
    pub compose_overrides: Option<Value>,
    /// The raw `cloudformation { }` resources (logical id → resource).
    pub cloudformation_resources: BTreeMap<String, Value>,
    /// Where each raw resource is written (logical id → its entry).
    #[serde(skip)]
    pub cloudformation_spans: BTreeMap<String, Span>,
    #[serde(skip)]
    pub span: Span,
    #[serde(skip)]
    pub name_span: Span,
}

impl Workload {
    pub fn is_job(&self) -> bool {
        self.role == Role::Job
    }

    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// Secrets this workload reads through its environment.
    pub fn secrets(&self) -> impl Iterator<Item = (&str, &SecretUse)> {
        self.env.iter().filter_map(|e| match &e.value {
            EnvValue::Secret(s) => Some((e.name.as_str(), s)),
            EnvValue::Text(_) => None,
        })
    }
}

/// What a component is, and so how each target realises it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum Role {
    /// A long-running container.
    Service,
    /// A container that runs once, to completion.
    Job,
    Database(Database),
    Cache(Cache),
    Search(Search),
    Queue(Queue),
    Bucket(Bucket),
    LoadBalancer(LoadBalancer),
}

impl Role {
    /// Realised by a managed service on AWS (not a container).
    pub fn is_managed(&self) -> bool {
        !matches!(self, Role::Service | Role::Job)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbEngine {
    Mysql,
    Postgres,
    Mariadb,
    /// Amazon DocumentDB (the `mongodb` kind): a cluster, not an RDS instance.
    DocumentDb,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Database {
    pub engine: DbEngine,
    /// The image's pinned version (compose).
    pub version: String,
    /// What RDS gets: `8.0`, `16` (minor upgrades applied by AWS).
    pub engine_version: String,
    pub auto_minor_version_upgrade: bool,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub instance_class: String,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cache {
    pub version: String,
    /// `redis` or `valkey` on ElastiCache.
    pub engine: String,
    pub engine_version: String,
    pub node_type: String,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Search {
    pub version: String,
    /// `Elasticsearch_7.10`, `OpenSearch_2.11`.
    pub engine_version: String,
    pub instance_type: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Queue {
    pub version: String,
    pub engine_version: String,
    pub user: String,
    pub password: Option<String>,
    pub instance_type: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bucket {
    pub versioning: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadBalancer {
    /// Lowercase, validated.
    pub domain: Option<String>,
    pub tls: bool,
    /// Longest path first.
    pub routes: Vec<Route>,
    /// The port it serves HTTP on (compose publishes it; AWS listens on 80).
    pub http_port: u16,
    /// Its block of rule priorities on a shared listener (none on its own).
    pub priorities: Option<SharedPriorities>,
}

/// The rule priorities a load balancer takes on a listener shared by many
/// environments: `first..=last`, one per route.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SharedPriorities {
    pub first: u32,
    pub last: u32,
    pub origin: PriorityOrigin,
    /// The host name the rules match.
    pub host: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityOrigin {
    /// Derived from a hash of the host name.
    HostHash,
    /// The environment's `shared.listener_priority`.
    Set,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Route {
    /// `/`, `/api`.
    pub path: String,
    pub component: String,
    pub port_name: String,
    pub port: u16,
    /// The route's rule priority on its listener: 1, 2, … on its own; on a
    /// shared listener, within the load balancer's `priorities`.
    pub priority: u32,
    /// How the load balancer probes the targets.
    pub health: TargetHealth,
}

/// A load balancer's probe of a route's targets, within AWS's limits: the
/// component's HTTP check, else `GET /`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetHealth {
    pub path: String,
    pub interval_s: u64,
    pub timeout_s: u64,
    pub healthy: u32,
    pub unhealthy: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "source", content = "reference")]
pub enum ImageSource {
    /// A published image, pinned.
    Pull(String),
    /// An image definition bomc builds: its name.
    Build(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Port {
    pub name: String,
    pub number: u16,
    pub protocol: Protocol,
}

/// A host port range published on compose for a served port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Published {
    pub target: u16,
    pub protocol: Protocol,
    /// The host address it is bound to (all when none).
    pub host_ip: Option<String>,
    pub first: u32,
    pub last: u32,
}

/// A string whose pieces a target resolves: host names, ports and endpoints
/// differ between compose and AWS.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Text(pub Vec<Piece>);

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "piece", content = "value")]
pub enum Piece {
    Literal(String),
    /// The host name of a component.
    Host(String),
    /// A port of a component; the number is the one the target serves on.
    Port {
        component: String,
        name: String,
        number: u16,
    },
    /// The URL clients use to reach a component (scheme, host, port).
    Url(String),
    /// The name of a bucket on the target.
    BucketName(String),
}

impl Text {
    pub fn literal(s: impl Into<String>) -> Text {
        Text(vec![Piece::Literal(s.into())])
    }

    /// The text when it holds no target-dependent piece.
    pub fn as_literal(&self) -> Option<String> {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: EnvValue,
    /// Set on compose only: a bucket's MinIO credentials (on AWS the task role
    /// grants access).
    pub compose_only: bool,
}

/// How clients reach a component, per target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Endpoints {
    pub compose: Endpoint,
    pub aws: Endpoint,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Endpoint {
    /// `http`, `https`, `rediss`, `amqps`, `mysql`…
    pub scheme: String,
    /// The port of its URL (none: the scheme's default, as S3's).
    pub port: Option<u16>,
    /// Clients must speak TLS.
    pub tls: bool,
    /// Connection options its URL carries (`tls=true&…`); empty for none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query: String,
    /// Port name → the number served on this target, where it differs from
    /// the `.bom` (Amazon MQ's `amqp` is 5671 on AWS).
    pub ports: BTreeMap<String, u16>,
}

impl Endpoint {
    /// The number a port reference resolves to on this target.
    pub fn port_number(&self, name: &str, declared: u16) -> u16 {
        self.ports.get(name).copied().unwrap_or(declared)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum EnvValue {
    Text(Text),
    Secret(SecretUse),
}

/// A secret read by a workload's environment variable: the variable has the
/// same name on every target; how the value gets there on compose depends on
/// the image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SecretUse {
    pub secret: String,
    pub compose: SecretDelivery,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "how", content = "path")]
pub enum SecretDelivery {
    /// An image bomc builds: its entrypoint shim reads the file mounted at
    /// this path into the variable before the program starts.
    Shim(String),
    /// The image's own entrypoint reads `<NAME>_FILE`.
    File,
    /// The image reads neither: compose sets the variable from the host's
    /// environment when the stack starts (the value is never in the file).
    Environment,
}

/// Where the shim finds secrets to export: one file per variable.
pub const SHIM_SECRETS_DIR: &str = "/run/bomc/env";
/// The entrypoint shim in images bomc builds.
pub const SHIM_PATH: &str = "/usr/local/bin/bomc-entrypoint";
/// The health probe in images bomc builds.
pub const PROBE_PATH: &str = "/usr/local/bin/bomc-healthcheck";

/// A health check's timings where the landscape sets none: the same on every
/// target. They are ECS's and the ALB's own defaults; Docker's timeout is
/// 30 s, so compose files and Dockerfiles write the timeout out.
pub const HEALTH_INTERVAL_S: u64 = 30;
pub const HEALTH_TIMEOUT_S: u64 = 5;
pub const HEALTH_RETRIES: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Health {
    pub check: Check,
    pub interval_ms: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub start_period_ms: Option<u64>,
    /// Successes before healthy (load balancers honour it; compose does not).
    pub healthy: Option<u32>,
    /// Failures before unhealthy.
    pub unhealthy: Option<u32>,
    /// The check as ECS runs it, within its limits.
    pub ecs: EcsHealth,
}

impl Health {
    /// How long one check may take: as set, else [`HEALTH_TIMEOUT_S`].
    pub fn timeout_or_default_ms(&self) -> u64 {
        self.timeout_ms.unwrap_or(HEALTH_TIMEOUT_S * 1000)
    }
}

/// ECS container health check values (seconds), within ECS's limits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EcsHealth {
    pub interval_s: u64,
    pub timeout_s: u64,
    pub retries: u32,
    pub start_period_s: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Check {
    /// `GET http://127.0.0.1:<port><path>` answers below 400, run by the probe.
    Http { port: u16, path: String },
    /// `127.0.0.1:<port>` accepts a connection, run by the probe.
    Tcp { port: u16 },
    /// A command run in the container (exec form).
    Exec { command: Vec<String> },
    /// A command run by the container's shell (`CMD-SHELL`).
    Shell { command: String },
}

impl Check {
    /// Whether the check runs `bomc-healthcheck`, which must be in the image.
    pub fn needs_probe(&self) -> bool {
        matches!(self, Check::Http { .. } | Check::Tcp { .. })
    }

    /// The exec-form command of a probe check.
    pub fn probe_command(&self) -> Option<Vec<String>> {
        match self {
            Check::Http { port, path } => Some(vec![
                PROBE_PATH.to_string(),
                format!("http://127.0.0.1:{port}{path}"),
            ]),
            Check::Tcp { port } => Some(vec![
                PROBE_PATH.to_string(),
                format!("tcp://127.0.0.1:{port}"),
            ]),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Volume {
    pub name: String,
    pub path: String,
}

/// What a component mounts at a container path besides its `volumes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Mount {
    /// A host path, relative to the main `.bom` file's folder (`./conf`,
    /// `../shared`) or absolute.
    Bind {
        source: String,
        target: String,
        read_only: bool,
    },
    /// The component's named volume `name`.
    Volume {
        name: String,
        target: String,
        read_only: bool,
    },
    /// An in-memory file system, of at most `size` bytes.
    Tmpfs { target: String, size: Option<u64> },
}

/// Linux settings of a container: capabilities, ulimits, sysctls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Linux {
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// Name → (soft, hard); -1 is unlimited.
    pub ulimits: BTreeMap<String, (i64, i64)>,
    pub sysctls: BTreeMap<String, String>,
}

/// CPU and memory written for a container (limits, or reservations).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Resources {
    /// vCPUs.
    pub cpu: Option<f64>,
    /// MiB.
    pub memory_mib: Option<u64>,
}

/// The targets a workload is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Targets {
    pub compose: bool,
    pub cloudformation: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub component: String,
    pub wait: Wait,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// A job: wait until it exited 0.
    Completed,
    /// Wait until its health check passes.
    Healthy,
    Started,
}

/// How images reach the registry the cloud pulls from (`images/publish.sh`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Publish {
    /// The platform images are built for when published: what the task
    /// definitions declare (`RuntimePlatform`).
    pub platform: String,
    /// A tag moved to the images a persistent instance runs
    /// (`live-production`), which the repositories' lifecycle policy keeps.
    pub live_tag: Option<String>,
    /// Tag prefix the lifecycle policy keeps (`live-`).
    pub live_prefix: String,
    /// Days after which the lifecycle policy expires an image that carries
    /// no live tag.
    pub retention_days: u32,
}

/// An image bomc builds.
#[derive(Clone, Debug, Serialize)]
pub struct BuildImage {
    pub name: String,
    pub docs: Vec<String>,
    /// `<landscape>/<image>`: the repository, locally and in a registry.
    pub repository: String,
    /// A hash of everything the image is built from (see `lower/image.rs`):
    /// changes exactly when the built image would.
    pub content_tag: String,
    /// `<repository>:<content_tag>`: the local reference (compose, `FROM`).
    pub tag: String,
    /// Whether a component runs it, so it is pushed to the registry
    /// (layers only other images build on are not).
    pub publish: bool,
    /// The `org.bomc.*` labels bomc writes into the image: the same for
    /// every environment instance, so instances share images.
    pub bomc_labels: BTreeMap<String, String>,
    pub from: BaseImage,
    /// The pinned image at the root of the chain.
    pub root: Option<String>,
    pub template: Option<String>,
    /// The project's own Dockerfile, relative to the context: bomc writes
    /// none, and builds this one (its `target` stage, with `args`). Left out
    /// of the content tag's definition when unset, so existing tags stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Relative to the `.bom` file.
    pub context: Option<String>,
    pub args: Vec<(String, String)>,
    pub steps: Vec<String>,
    pub onbuild: Vec<String>,
    /// Whether the parent declares `onbuild` steps (which copy the context).
    pub parent_onbuild: bool,
    /// The user it runs as (its own, else its nearest ancestor's, else 10001).
    pub user: i64,
    pub labels: Vec<(String, String)>,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// Ports served by the components built from it.
    pub expose: Vec<u16>,
    /// The HEALTHCHECK, when every long-running component built from it
    /// declares the same one; with why (or why not), for a comment.
    pub health: Option<Health>,
    pub health_notes: Vec<String>,
    /// Carries `bomc-healthcheck`: some component built from it checks with it.
    pub probe: bool,
    /// Carries the entrypoint shim: some component built from it reads secrets.
    pub shim: bool,
    /// The binary `go build` makes of the `go` template's context root, named
    /// after the module its `go.mod` declares; `None` without a readable one.
    /// Left out of the content tag's definition: `go.mod` is in the context,
    /// whose digest the tag holds.
    #[serde(skip)]
    pub go_binary: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "name")]
pub enum BaseImage {
    /// A pinned published image.
    Pinned(String),
    /// Another image definition of the landscape.
    Image(String),
}
