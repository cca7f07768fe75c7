//! The built-in schemas. Every component kind builds on [`SERVICE`]; `image`
//! and `environment` definitions and `health` blocks have their own.

use super::types::Type;

/// One setting of a schema.
#[derive(Debug, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub doc: &'static str,
}

/// The settings a block accepts.
#[derive(Debug, PartialEq)]
pub struct Schema {
    pub what: &'static str,
    pub fields: &'static [Field],
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields
            .iter()
            .find(|f| crate::model::same_name(f.name, name))
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + Clone {
        self.fields.iter().map(|f| f.name)
    }
}

const fn field(name: &'static str, ty: Type, doc: &'static str) -> Field {
    Field { name, ty, doc }
}

pub static HEALTH: Schema = Schema {
    what: "health check",
    fields: &[
        field("path", Type::HttpPath, "HTTP path probed, e.g. `/health`"),
        field(
            "port",
            Type::Str,
            "name of the port probed (default: the first port)",
        ),
        field(
            "command",
            Type::CommandLine,
            "command run in the container instead of an HTTP probe: a string (run by the shell) or a list",
        ),
        field("interval", Type::PositiveDuration, "time between probes"),
        field("timeout", Type::PositiveDuration, "time a probe may take"),
        field("healthy", Type::Count, "successes before healthy"),
        field("unhealthy", Type::Count, "failures before unhealthy"),
        field("start_period", Type::Duration, "grace period after start"),
    ],
};

/// One entry of `mounts`: exactly one of `bind`, `volume` and `tmpfs`.
pub static MOUNT: Schema = Schema {
    what: "mount",
    fields: &[
        field(
            "bind",
            Type::HostPath,
            "host path, relative to the `.bom` file",
        ),
        field(
            "volume",
            Type::Str,
            "the component's named volume (declared in `volumes` or not)",
        ),
        field(
            "tmpfs",
            Type::Tmpfs,
            "an in-memory file system: `true` or its size",
        ),
        field("read_only", Type::Bool, "mounted read-only"),
    ],
};

/// Linux capabilities added to and dropped from a container.
pub static CAPABILITIES: Schema = Schema {
    what: "capabilities",
    fields: &[
        field(
            "add",
            Type::List(&Type::Str),
            "capabilities added: `NET_ADMIN`",
        ),
        field(
            "drop",
            Type::List(&Type::Str),
            "capabilities dropped: `ALL`",
        ),
    ],
};

/// One ulimit with different soft and hard limits.
pub static ULIMIT: Schema = Schema {
    what: "ulimit",
    fields: &[
        field("soft", Type::Ulimit, "soft limit (-1: unlimited)"),
        field("hard", Type::Ulimit, "hard limit (-1: unlimited)"),
    ],
};

/// What a container is guaranteed (compose `deploy.resources.reservations`).
pub static RESERVE: Schema = Schema {
    what: "reservation",
    fields: &[
        field("cpu", Type::PositiveFloat, "vCPUs reserved per copy"),
        field("memory", Type::Size, "memory reserved per copy"),
    ],
};

/// The targets a component (or a landscape) may be restricted to.
pub const TARGETS: &[&str] = &["compose", "cloudformation"];

/// The settings written directly in a landscape body.
pub static LANDSCAPE: Schema = Schema {
    what: "landscape",
    fields: &[
        field(
            "targets",
            Type::List(&Type::OneOf(TARGETS)),
            "the targets every component is built for (default: all)",
        ),
        field(
            "allow_floating_tags",
            Type::Bool,
            "accept image tags without a full version, with a warning each",
        ),
    ],
};

pub const MANAGED: &[&str] = &[
    "none",
    "rds-mysql",
    "rds-postgres",
    "rds-mariadb",
    "docdb",
    "elasticache-redis",
    "opensearch",
    "amazonmq-rabbitmq",
    "alb",
    "s3",
];

pub const RUN_MODES: &[&str] = &["service", "once"];

pub static SERVICE: Schema = Schema {
    what: "service",
    fields: &[
        field("image", Type::ImageRef, "pinned image reference"),
        field("build", Type::Image, "an `image` definition to build"),
        field("command", Type::List(&Type::Str), "command and arguments"),
        field(
            "ports",
            Type::Map(&Type::PortSpec),
            "named ports: a number (TCP) or `\"PORT/udp\"`",
        ),
        field(
            "publish",
            Type::Map(&Type::HostPort),
            "host port per named port, on compose: a number or `\"IP:PORT\"`",
        ),
        field(
            "restart",
            Type::RestartPolicy,
            "restart policy on compose (default: `unless-stopped`; jobs `no`)",
        ),
        field("user", Type::Str, "user (and group) the process runs as"),
        field("working_dir", Type::Str, "working directory of the process"),
        field(
            "entrypoint",
            Type::List(&Type::Str),
            "entrypoint, replacing the image's",
        ),
        field("env", Type::Map(&Type::EnvValue), "environment variables"),
        field("replicas", Type::NonNegative, "number of running copies"),
        field(
            "cpu",
            Type::PositiveFloat,
            "vCPUs per copy, at most (a limit)",
        ),
        field("memory", Type::Size, "memory per copy, at most (a limit)"),
        field(
            "reserve",
            Type::Record(&RESERVE),
            "CPU and memory reserved per copy",
        ),
        field("health", Type::Record(&HEALTH), "health check"),
        field(
            "volumes",
            Type::Map(&Type::Str),
            "named volume → mount path",
        ),
        field("storage", Type::Size, "size of persistent data"),
        field("stateful", Type::Bool, "holds data to protect"),
        field(
            "depends_on",
            Type::List(&Type::Component),
            "components started first; it may connect to them",
        ),
        field(
            "uses",
            Type::List(&Type::Component),
            "components it connects to, without start ordering",
        ),
        field("run", Type::OneOf(RUN_MODES), "`service` or `once` (a job)"),
        field("public", Type::Bool, "reachable from outside the landscape"),
        field(
            "managed",
            Type::OneOf(MANAGED),
            "managed cloud service realising it",
        ),
        field(
            "env_file",
            Type::List(&Type::HostPath),
            "files of environment variables, relative to the `.bom` file (compose)",
        ),
        field(
            "profiles",
            Type::List(&Type::Str),
            "compose profiles it belongs to",
        ),
        field(
            "capabilities",
            Type::Record(&CAPABILITIES),
            "Linux capabilities added and dropped",
        ),
        field(
            "ulimits",
            Type::Map(&Type::Ulimit),
            "ulimits: a number, or `{ soft = N, hard = M }`",
        ),
        field(
            "sysctls",
            Type::Map(&Type::Scalar),
            "namespaced kernel parameters",
        ),
        field(
            "mounts",
            Type::Map(&Type::Record(&MOUNT)),
            "container path → a bind mount, a volume or a tmpfs",
        ),
        field(
            "targets",
            Type::List(&Type::OneOf(TARGETS)),
            "the targets it is built for (default: the landscape's, else all)",
        ),
        field("labels", Type::Map(&Type::Str), "labels"),
        field("compose", Type::Map(&Type::Any), "raw compose keys"),
        field(
            "cloudformation",
            Type::Map(&Type::Any),
            "raw CloudFormation resources",
        ),
    ],
};

pub const TEMPLATES: &[&str] = &["go", "node", "python", "ruby", "java", "static"];

pub static IMAGE: Schema = Schema {
    what: "image",
    fields: &[
        field(
            "from",
            Type::BaseImage,
            "pinned base image or another image definition",
        ),
        field("template", Type::OneOf(TEMPLATES), "Dockerfile template"),
        field(
            "dockerfile",
            Type::Str,
            "the project's own Dockerfile, relative to `context`",
        ),
        field("target", Type::Str, "the stage of `dockerfile` to build"),
        field("context", Type::Str, "build context, relative to the file"),
        field("args", Type::Map(&Type::Str), "build arguments"),
        field("steps", Type::List(&Type::Str), "extra build steps"),
        field(
            "onbuild",
            Type::List(&Type::Str),
            "steps run when another image builds on this one",
        ),
        field("user", Type::UserId, "numeric non-root user"),
        field("labels", Type::Map(&Type::Str), "image labels"),
        field("entrypoint", Type::List(&Type::Str), "entrypoint"),
        field("command", Type::List(&Type::Str), "default command"),
    ],
};

/// Shared infrastructure an environment attaches to (cloud targets).
pub static SHARED: Schema = Schema {
    what: "shared infrastructure",
    fields: &[
        field(
            "cluster",
            Type::Str,
            "name of an existing ECS cluster to run in",
        ),
        field(
            "listener",
            Type::Str,
            "ARN of an existing HTTPS listener to add routes to",
        ),
        field(
            "load_balancer_dns",
            Type::Str,
            "DNS name of that listener's load balancer",
        ),
        field(
            "load_balancer_security_group",
            Type::Str,
            "security group of that load balancer",
        ),
        field(
            "listener_priority",
            Type::ListenerPriority,
            "first rule priority on the shared listener (0: derived from the host name)",
        ),
    ],
};

/// The network an environment runs in on the cloud.
pub static NETWORK: Schema = Schema {
    what: "network",
    fields: &[
        field(
            "vpc",
            Type::OneOf(&["existing", "create"]),
            "`existing`: VpcId and subnets are stack parameters; `create`: the stack creates them",
        ),
        field(
            "cidr",
            Type::VpcCidr,
            "address block of a created VPC (default 10.0.0.0/16)",
        ),
        field(
            "nat_gateways",
            Type::Between(1, 2),
            "NAT gateways of a created VPC: 1, or 2 (one per zone)",
        ),
    ],
};

pub static ENVIRONMENT: Schema = Schema {
    what: "environment",
    fields: &[
        field(
            "ttl",
            Type::PositiveDuration,
            "time to live; makes the environment ephemeral",
        ),
        field("purpose", Type::Str, "why the environment exists"),
        field(
            "shared",
            Type::Record(&SHARED),
            "long-lived infrastructure to attach to instead of creating it",
        ),
        field(
            "network",
            Type::Record(&NETWORK),
            "the VPC and subnets on the cloud: existing ones, or created with the stack",
        ),
    ],
};
