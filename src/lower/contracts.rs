//! Run-time contracts of the managed kinds: which engine versions AWS accepts,
//! where and how clients connect on each target, which IAM actions a client
//! needs, and what the official images used on compose can do. These are facts
//! about other people's software, so each names where it was checked, and a
//! test below fails when the code disagrees with one.
//!
//! "cfn-lint data" is AWS's own API data as bundled by cfn-lint 1.58.0
//! (tests/tools/requirements.txt) under `.venv/lib/python3.*/site-packages/cfnlint/data/schemas/`.

/// The RDS engines the stdlib realises (`mysql`, `postgres`, `mariadb` kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdsEngine {
    Mysql,
    Postgres,
    Mariadb,
}

/// What an `AWS::RDS::DBInstance` gets for `EngineVersion` and `AutoMinorVersionUpgrade`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsVersion {
    pub engine_version: String,
    pub auto_minor_version_upgrade: bool,
}

// Majors RDS still creates instances of: those with a non-deprecated version in
// cfn-lint data (aws_rds_dbinstance/engine_version.json minus
// engine_version_deprecated.json; the test `rds_majors_are_what_cfn_lint_data_offers`
// recomputes them). MySQL X.Y is the major, PostgreSQL 10+ X:
// source: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html
// source: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.DBVersions.html
// A major past its end of standard support (MySQL 5.7, PostgreSQL 11, 12:
// only `-rds.YYYYMMDD` releases left) is still created, enrolled by default in
// the billed RDS Extended Support (CreateDBInstance EngineLifecycleSupport):
// source: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
const RDS_MYSQL_MAJORS: &[&str] = &["5.7", "8.0", "8.4"];
const RDS_POSTGRES_MAJORS: &[&str] = &["11", "12", "13", "14", "15", "16", "17", "18"];
// MariaDB X.Y is the major ("The major version number is both the integer and
// the first fractional part of the version number, for example, 10.11"):
// source: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.MariaDB.VersionID.html
// cfn-lint data marks no MariaDB version deprecated and still lists 10.0–10.5,
// whose standard support ended; these are the releases RDS supports (MariaDB's
// long-term releases), each present in cfn-lint data (see the test
// `rds_majors_are_what_cfn_lint_data_offers`):
// source: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MariaDB.Concepts.VersionMgmt.html
const RDS_MARIADB_MAJORS: &[&str] = &["10.6", "10.11", "11.4", "11.8"];

/// cfn-lint checks to ignore (`Metadata.cfn-lint.config.ignore_checks`) on a
/// DBInstance whose `EngineVersion` is a major: cfn-lint lists only full MySQL
/// versions (E3691 "'8.0' is not one of ...") and marks PostgreSQL majors 9–17
/// deprecated (W3691), though AWS documents majors (see [`rds_version`]).
/// Known false positive: https://github.com/aws-cloudformation/cfn-lint/issues/3849
/// Checked with cfn-lint 1.58.0: "8.0", "8.4" and "16" lint clean with these ignored.
pub const RDS_MAJOR_VERSION_CFN_LINT_IGNORES: &[&str] = &["E3691", "W3691"];

/// The RDS `EngineVersion` for the kind's pinned image version: its major
/// ("8.0.43" → "8.0", "16.9" → "16"), with `AutoMinorVersionUpgrade` on.
///
/// A full version goes stale: RDS upgrades minors itself (and force-upgrades
/// deprecated ones), and a later template carrying an older full version makes
/// RDS refuse the update ("Cannot upgrade postgres from 16.13 to 16.6"). A major
/// - creates a recent minor: "If a major version is specified but a minor
///   version is not, Amazon RDS defaults to a recent release of the major
///   version you have specified." (MySQL.Concepts.VersionMgmt above)
/// - never downgrades: "If you specify only a major version, Amazon RDS updates
///   the DB instance to the default minor version if the current minor version
///   is lower." source: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
/// - does not drift: "If you specify a version prefix rather than a full version
///   number, AWS CloudFormation uses prefix matching during drift detection. For
///   example, "8.0" for MySQL or "16" for PostgreSQL ..."
///   source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbinstance.html#cfn-rds-dbinstance-engineversion
///   (the same text is in cfn-lint data, resources/1961d0ebac37774f.json)
///
/// Compose keeps the exact image tag; AWS runs the same major, patched.
pub fn rds_version(engine: RdsEngine, requested: &str) -> Result<RdsVersion, String> {
    let parts = version_parts(requested)?;
    let (name, major, offered) = match engine {
        RdsEngine::Mysql if parts.len() > 1 => ("MySQL", parts[..2].join("."), RDS_MYSQL_MAJORS),
        RdsEngine::Mysql => ("MySQL", String::new(), RDS_MYSQL_MAJORS),
        RdsEngine::Postgres => ("PostgreSQL", parts[0].to_string(), RDS_POSTGRES_MAJORS),
        RdsEngine::Mariadb if parts.len() > 1 => {
            ("MariaDB", parts[..2].join("."), RDS_MARIADB_MAJORS)
        }
        RdsEngine::Mariadb => ("MariaDB", String::new(), RDS_MARIADB_MAJORS),
    };
    if !offered.contains(&major.as_str()) {
        let offered = offered.join(", ");
        return Err(format!("{name} {requested}: RDS offers majors {offered}"));
    }
    Ok(RdsVersion {
        engine_version: major,
        auto_minor_version_upgrade: true,
    })
}

// Amazon DocumentDB's engine versions are MongoDB API compatibility levels:
// 4.0, 5.0 and 8.0 ("Amazon DocumentDB supports MongoDB compatibility,
// including MongoDB 4.0, MongoDB 5.0 and MongoDB 8.0"); 3.6 left standard
// support on 30 March 2026 (billed Extended Support since):
// source: https://docs.aws.amazon.com/documentdb/latest/developerguide/compatibility.html
// source: https://docs.aws.amazon.com/documentdb/latest/developerguide/extended-support.html
// AWS::DocDB::DBCluster EngineVersion takes the full form (cfn-lint data,
// resources AWS::DocDB::DBCluster: enum "3.6.0", "4.0", "4.0.0", "5.0.0",
// "5.0.1", "8.0.0", "8.0.1"); the cluster is patched in its maintenance window.
const DOCDB_VERSIONS: &[(&str, &str)] = &[("4.0", "4.0.0"), ("5.0", "5.0.0"), ("8.0", "8.0.0")];

/// The DocumentDB `EngineVersion` for the `mongodb` kind's pinned image
/// version: the compatibility level of its X.Y ("8.0.4" → "8.0.0").
pub fn docdb_version(requested: &str) -> Result<String, String> {
    let minor = major_minor(requested)?;
    match DOCDB_VERSIONS.iter().find(|(m, _)| *m == minor) {
        Some((_, version)) => Ok(version.to_string()),
        None => {
            let offered: Vec<&str> = DOCDB_VERSIONS.iter().map(|(m, _)| *m).collect();
            Err(format!(
                "MongoDB {requested}: Amazon DocumentDB is compatible with MongoDB {}",
                offered.join(", ")
            ))
        }
    }
}

/// What an `AWS::ElastiCache::ReplicationGroup` gets for `Engine` and `EngineVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEngine {
    pub engine: &'static str,
    pub engine_version: String,
    /// Set when the engine is not the one the compose image runs.
    pub note: Option<String>,
}

// Redis image X.Y → (Engine, EngineVersion). ElastiCache takes X.Y for Redis
// OSS 6+ and patches it itself; its Redis OSS stops at 7.1, an ElastiCache-only
// release (redis images go 7.0 → 7.2); 7.2 and later are Valkey, whose 7.2 is
// Redis OSS 7.2.4's code:
// source: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/supported-engine-versions.html
// source: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/engine-versions.html
// ReplicationGroup makes "Valkey or Redis OSS" groups:
// source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticache-replicationgroup.html
// Pairs AWS accepts (cfn-lint data, aws_elasticache_cachecluster/engine_version.json;
// cfn-lint checks no ReplicationGroup version, only E3704: valkey needs
// TransitEncryptionEnabled set): redis 4.0.10, 5.0.6, 6.0, 6.2, 7.0, 7.1;
// valkey 7.2, 8.0, 8.1, 8.2, 9.0, 9.1. Redis 7.4 and 8.x are left out: their
// features (hash field expiry, 8.x's types) are not all in Valkey of the same
// number; redis 4.x/5.x images are patches ElastiCache does not run.
const CACHE_ENGINES: &[(&str, &str, &str)] = &[
    ("6.0", "redis", "6.0"),
    ("6.2", "redis", "6.2"),
    ("7.0", "redis", "7.0"),
    ("7.2", "valkey", "7.2"),
];

/// The ElastiCache engine for the `redis` kind's pinned image version.
pub fn cache_engine(requested: &str) -> Result<CacheEngine, String> {
    let minor = major_minor(requested)?;
    if minor == "7.1" {
        return Err(format!(
            "redis {requested}: Redis OSS 7.1 exists only on ElastiCache, no redis image has it; pin 7.0.x or 7.2.x"
        ));
    }
    let Some(&(_, engine, version)) = CACHE_ENGINES.iter().find(|(m, ..)| *m == minor) else {
        let known: Vec<&str> = CACHE_ENGINES.iter().map(|(m, ..)| *m).collect();
        let known = known.join(", ");
        return Err(format!(
            "redis {requested}: ElastiCache has none; pin {known}"
        ));
    };
    let note = (engine != "redis").then(|| {
        format!("redis {requested} runs as Valkey {version} on ElastiCache, whose Redis OSS stops at 7.1")
    });
    Ok(CacheEngine {
        engine,
        engine_version: version.to_string(),
        note,
    })
}

// Elasticsearch versions OpenSearch Service keeps in standard support (both
// until 2027-11-07); the elasticsearch-oss image ends at 7.10.2:
// source: https://endoflife.date/amazon-elasticsearch (after https://docs.aws.amazon.com/opensearch-service/latest/developerguide/what-is.html#choosing-version)
// EngineVersion is ^Elasticsearch_[0-9]{1}\.[0-9]{1,2}$|^OpenSearch_[0-9]{1,2}\.[0-9]{1,2}$:
// source: https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_ListVersions.html
// (cfn-lint data types it as a plain string.)
const ELASTICSEARCH_VERSIONS: &[&str] = &["7.9", "7.10"];

/// The OpenSearch Service `EngineVersion`: "7.10.2" → "Elasticsearch_7.10";
/// "opensearch-2.19.1", "opensearch:2.19" or "OpenSearch_2.19" →
/// "OpenSearch_2.19" (format checked, not availability).
pub fn search_engine(requested: &str) -> Result<String, String> {
    let lower = requested.to_ascii_lowercase();
    let prefixes = ["opensearch_", "opensearch-", "opensearch:"];
    if let Some(rest) = prefixes.iter().find_map(|p| lower.strip_prefix(p)) {
        let parts = version_parts(rest)?;
        if parts.len() < 2 || parts[0].len() > 2 || parts[1].len() > 2 {
            return Err(format!("{requested}: not OpenSearch_X.Y"));
        }
        return Ok(format!("OpenSearch_{}.{}", parts[0], parts[1]));
    }
    let minor = offered(requested, "Elasticsearch", ELASTICSEARCH_VERSIONS)?;
    Ok(format!("Elasticsearch_{minor}"))
}

// Amazon MQ for RabbitMQ takes major.minor ("you only need to specify the major
// and minor version numbers") and runs 3.13 (mq.t3, mq.m5, mq.m7g) and 4.2
// (mq.m7g only: not the stdlib's default mq.t3.micro):
// source: https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/rabbitmq-version-management.html
// AutoMinorVersionUpgrade "Must be set to true ... for RabbitMQ brokers version 3.13 and above":
// source: https://docs.aws.amazon.com/amazon-mq/latest/api-reference/brokers.html (CreateBroker)
// (cfn-lint data types EngineVersion as a plain string; "3.13", "4.2" lint clean.)
const AMAZON_MQ_RABBITMQ: &[&str] = &["3.13", "4.2"];

/// The Amazon MQ `EngineVersion` for the `rabbitmq` kind's pinned image
/// version ("3.13.0" → "3.13"); the broker needs `AutoMinorVersionUpgrade: true`.
pub fn mq_engine(requested: &str) -> Result<String, String> {
    offered(requested, "RabbitMQ", AMAZON_MQ_RABBITMQ)
}

/// `requested`'s X.Y when `offered` has it.
fn offered(requested: &str, name: &str, offered: &[&str]) -> Result<String, String> {
    let minor = major_minor(requested)?;
    if offered.contains(&minor.as_str()) {
        return Ok(minor);
    }
    let offered = offered.join(", ");
    Err(format!("{name} {requested}: AWS offers {offered}"))
}

fn major_minor(requested: &str) -> Result<String, String> {
    let parts = version_parts(requested)?;
    Ok(parts[..parts.len().min(2)].join("."))
}

/// "8.0.43" → ["8", "0", "43"]; anything but dot-separated numbers is an error.
fn version_parts(requested: &str) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = requested.split('.').collect();
    let number = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.iter().all(number) {
        Ok(parts)
    } else {
        Err(format!("`{requested}` is not a version like 8.0.43"))
    }
}

/// The managed realisations of the stdlib's stateful kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Managed {
    RdsMysql,
    RdsPostgres,
    RdsMariadb,
    DocumentDb,
    ElastiCacheRedis,
    OpenSearch,
    AmazonMqRabbitMq,
    S3,
}

impl Managed {
    /// From the kind's `managed` setting in stdlib/*.bom.
    pub fn from_setting(managed: &str) -> Option<Managed> {
        Some(match managed {
            "rds-mysql" => Managed::RdsMysql,
            "rds-postgres" => Managed::RdsPostgres,
            "rds-mariadb" => Managed::RdsMariadb,
            "docdb" => Managed::DocumentDb,
            "elasticache-redis" => Managed::ElastiCacheRedis,
            "opensearch" => Managed::OpenSearch,
            "amazonmq-rabbitmq" => Managed::AmazonMqRabbitMq,
            "s3" => Managed::S3,
            _ => return None,
        })
    }
}

/// The image repositories (last path segment, no tag) that run the engine a
/// managed kind becomes on AWS: another one there means compose and AWS run
/// different software.
pub fn engine_images(kind: Managed) -> &'static [&'static str] {
    match kind {
        Managed::RdsMysql => &["mysql", "mysql-server"],
        Managed::RdsPostgres => &["postgres"],
        Managed::RdsMariadb => &["mariadb"],
        Managed::DocumentDb => &["mongo"],
        Managed::ElastiCacheRedis => &["redis", "valkey"],
        Managed::OpenSearch => &["elasticsearch", "elasticsearch-oss", "opensearch"],
        Managed::AmazonMqRabbitMq => &["rabbitmq"],
        Managed::S3 => &["minio"],
    }
}

/// How the managed service is named in messages.
pub fn service_name(kind: Managed) -> &'static str {
    match kind {
        Managed::RdsMysql => "RDS for MySQL",
        Managed::RdsPostgres => "RDS for PostgreSQL",
        Managed::RdsMariadb => "RDS for MariaDB",
        Managed::DocumentDb => "Amazon DocumentDB",
        Managed::ElastiCacheRedis => "ElastiCache",
        Managed::OpenSearch => "OpenSearch Service",
        Managed::AmazonMqRabbitMq => "Amazon MQ",
        Managed::S3 => "S3",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Compose,
    Aws,
}

/// How a client reaches a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: &'static str,
    /// None: the kind's own port from the .bom (set on the managed resource too).
    pub port: Option<u16>,
    /// Clients must speak TLS: plain connections are refused (by default, for RDS).
    pub tls: bool,
    /// Connection options the URL carries (`tls=true&…`), empty for none.
    pub query: &'static str,
}

const fn plain(scheme: &'static str) -> Endpoint {
    Endpoint {
        scheme,
        port: None,
        tls: false,
        query: "",
    }
}

const fn tls(scheme: &'static str, port: Option<u16>) -> Endpoint {
    Endpoint {
        scheme,
        port,
        tls: true,
        query: "",
    }
}

/// Where and how clients connect to `kind` on `target`. On compose each is the
/// plain protocol on the .bom port (mysql 3306, postgres 5432, redis 6379,
/// elasticsearch-oss http 9200, rabbitmq amqp 5672, MinIO http 9000).
pub fn endpoint(kind: Managed, target: Side) -> Endpoint {
    match (kind, target) {
        (Managed::RdsMysql | Managed::RdsMariadb, Side::Compose) => plain("mysql"),
        (Managed::DocumentDb, Side::Compose) => plain("mongodb"),
        (Managed::RdsPostgres, Side::Compose) => plain("postgresql"),
        (Managed::ElastiCacheRedis, Side::Compose) => plain("redis"),
        (Managed::OpenSearch | Managed::S3, Side::Compose) => plain("http"),
        (Managed::AmazonMqRabbitMq, Side::Compose) => plain("amqp"),
        // TLS optional: require_secure_transport is 0 (OFF) by default for MySQL 8.4 and lower.
        // source: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mysql-ssl-connections.require-ssl.html
        (Managed::RdsMysql, Side::Aws) => plain("mysql"),
        // TLS optional: clients choose "disabled, preferred, and required" SSL modes.
        // source: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/ssl-certificate-rotation-mariadb.html
        (Managed::RdsMariadb, Side::Aws) => plain("mysql"),
        // TLS is on by default (cluster parameter `tls` enabled) and DocumentDB
        // has no retryable writes, which drivers use by default:
        // source: https://docs.aws.amazon.com/documentdb/latest/developerguide/security.encryption.ssl.html
        // source: https://docs.aws.amazon.com/documentdb/latest/developerguide/functional-differences.html
        // Its certificate is signed by the Amazon RDS CA, which no image trusts
        // by default: the URL encrypts without verifying it (as libpq's default
        // sslmode=prefer does for RDS PostgreSQL); docs/language.md says how to verify.
        (Managed::DocumentDb, Side::Aws) => Endpoint {
            scheme: "mongodb",
            port: None,
            tls: true,
            query: "tls=true&tlsAllowInvalidCertificates=true&retryWrites=false",
        },
        // rds.force_ssl defaults to 1 for PostgreSQL 15 and later (0 before), so
        // TLS is required on the default 16; libpq's default sslmode=prefer uses it.
        // source: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/ssl-certificate-rotation-postgresql.html
        (Managed::RdsPostgres, Side::Aws) => tls("postgresql", None),
        // TransitEncryptionEnabled: "client connections to cache nodes are TLS encrypted".
        // source: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html
        (Managed::ElastiCacheRedis, Side::Aws) => tls("rediss", None),
        // VPC domain endpoint https://vpc-<name>-<id>.<region>.es.amazonaws.com;
        // EnforceHTTPS refuses plain HTTP.
        // source: https://docs.aws.amazon.com/opensearch-service/latest/developerguide/vpc.html
        // source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-opensearchservice-domain-domainendpointoptions.html
        (Managed::OpenSearch, Side::Aws) => tls("https", Some(443)),
        // 5671 is the amqps listener; 443 and 15671 serve the console and
        // management API; "all connections are encrypted using TLS".
        // source: https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/working-with-rabbitmq.html
        (Managed::AmazonMqRabbitMq, Side::Aws) => tls("amqps", Some(5671)),
        // https://s3.<region>.amazonaws.com
        // source: https://docs.aws.amazon.com/general/latest/gr/s3.html
        (Managed::S3, Side::Aws) => tls("https", Some(443)),
    }
}

/// Granted on the bucket ARN; the other S3 grants on `<bucket ARN>/*`.
/// source: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
pub const S3_BUCKET_LEVEL_ACTIONS: &[&str] = &["s3:ListBucket"];

/// IAM actions a client's task role needs. None for RDS, ElastiCache and
/// Amazon MQ: their clients get in by network (security group) and password.
///
/// OpenSearch: the HTTP data-plane actions on `<domain ARN>/*`
/// (source: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonopensearchservice.html).
/// They serve only clients that sign requests (SigV4), which Elasticsearch
/// clients usually don't: a domain policy naming the task roles would answer
/// them 403. For a VPC domain without fine-grained access control AWS documents
/// the open domain access policy with the security group as the gate: VPC
/// domains take no IP-based policies "because security groups already enforce
/// IP-based access policies", and open means "if a request reaches the
/// OpenSearch Service domain and the associated security groups permit it, the
/// domain accepts the request".
/// source: https://docs.aws.amazon.com/opensearch-service/latest/developerguide/vpc.html#vpc-security
pub fn client_grants(kind: Managed) -> &'static [&'static str] {
    match kind {
        Managed::S3 => &[
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
        ],
        Managed::OpenSearch => &[
            "es:ESHttpGet",
            "es:ESHttpHead",
            "es:ESHttpPost",
            "es:ESHttpPut",
            "es:ESHttpPatch",
            "es:ESHttpDelete",
        ],
        _ => &[],
    }
}

/// Variables the image also takes as `<VAR>_FILE` (a path to read the value
/// from, for secrets mounted as files). Empty: none known, so pass the value.
/// `image_repository` is the image name without tag, as in the .bom ("mysql", "minio/minio").
pub fn image_reads_secret_files(image_repository: &str) -> &'static [&'static str] {
    match image_repository {
        // docker-entrypoint.sh: file_env for the root account only.
        // source: https://github.com/docker-library/mongo/blob/master/8.0/docker-entrypoint.sh
        "mongo" => &["MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"],
        // docker-entrypoint.sh: file_env for each (MARIADB_* and their MYSQL_* aliases).
        // source: https://github.com/MariaDB/mariadb-docker/blob/master/11.4/docker-entrypoint.sh
        "mariadb" => &[
            "MARIADB_ROOT_HOST",
            "MARIADB_DATABASE",
            "MARIADB_USER",
            "MARIADB_PASSWORD",
            "MARIADB_ROOT_PASSWORD",
        ],
        // docker-entrypoint.sh: file_env for each (VAR and VAR_FILE are exclusive).
        // source: https://github.com/docker-library/mysql/blob/master/8.0/docker-entrypoint.sh
        "mysql" => &[
            "MYSQL_ROOT_HOST",
            "MYSQL_DATABASE",
            "MYSQL_USER",
            "MYSQL_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
        ],
        // source: https://github.com/docker-library/postgres/blob/master/16/alpine3.20/docker-entrypoint.sh
        "postgres" => &[
            "POSTGRES_PASSWORD",
            "POSTGRES_USER",
            "POSTGRES_DB",
            "POSTGRES_INITDB_ARGS",
        ],
        // The minio binary reads them (loadEnvVarsFromFiles, since minio PR #13883,
        // Dec 2021): an absolute path or a name under /run/secrets/. A missing
        // file is silently skipped.
        // source: https://github.com/minio/minio/blob/master/cmd/common-main.go
        "minio/minio" | "quay.io/minio/minio" => &["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"],
        // rabbitmq's entrypoint lists RABBITMQ_DEFAULT_PASS_FILE and _USER_FILE as
        // deprecated and exits 1 when either is set.
        // source: https://github.com/docker-library/rabbitmq/blob/master/3.13/alpine/docker-entrypoint.sh
        _ => &[],
    }
}

// (image, binaries it has, binaries it lacks), for the pinned stdlib/example images.
const IMAGE_BINARIES: &[(&str, &[&str], &[&str])] = &[
    // The entrypoint runs mysqladmin itself.
    // source: https://github.com/docker-library/mysql/blob/master/8.0/docker-entrypoint.sh
    ("mysql:8.0.43", &["mysqladmin"], &[]),
    // mongo 6.0+ images install mongodb-mongosh next to the server.
    // source: https://github.com/docker-library/mongo/blob/master/8.0/Dockerfile
    ("mongo:8.0.4", &["mongosh"], &[]),
    // healthcheck.sh ships in the image (/usr/local/bin) since 10.4.32, 10.5.23, 10.6.16, 10.11.6, 11.0.4.
    // source: https://mariadb.com/kb/en/using-healthcheck-sh/
    ("mariadb:11.4.5", &["healthcheck.sh"], &[]),
    // `make install-world-bin` installs the client programs; curl is never added.
    // source: https://github.com/docker-library/postgres/blob/master/16/alpine3.20/Dockerfile
    ("postgres:16.9-alpine", &["pg_isready", "psql"], &["curl"]),
    // "Connecting via redis-cli" runs redis-cli from the redis image.
    // source: https://hub.docker.com/_/redis
    ("redis:7.2.4-alpine", &["redis-cli"], &[]),
    // RabbitMQ's sbin/ (rabbitmqctl, rabbitmq-diagnostics) is on PATH.
    // source: https://github.com/docker-library/rabbitmq/blob/master/3.13/alpine/Dockerfile
    (
        "rabbitmq:3.13.0-management-alpine",
        &["rabbitmq-diagnostics", "rabbitmqctl"],
        &[],
    ),
    // The 7.x image copies a statically built curl to /usr/bin/curl.
    // source: https://github.com/elastic/elasticsearch/blob/7.10/distribution/docker/src/docker/Dockerfile
    (
        "docker.elastic.co/elasticsearch/elasticsearch-oss:7.10.2",
        &["curl"],
        &[],
    ),
    // Dockerfile.release downloads mc next to minio.
    // source: https://github.com/minio/minio/blob/master/Dockerfile.release
    ("minio/minio:RELEASE.2024-03-15T01-07-19Z", &["mc"], &[]),
    // alpine (busybox wget) plus ca-certificates; build dependencies removed.
    // source: https://github.com/docker-library/haproxy/blob/master/2.9/alpine/Dockerfile
    ("haproxy:2.9.6-alpine", &["haproxy", "wget"], &["curl"]),
    // debian:bookworm-slim plus ca-certificates; wget only builds ruby and is
    // purged, curl is never installed.
    // source: https://github.com/docker-library/ruby/blob/master/3.3/slim-bookworm/Dockerfile
    ("ruby:3.3.0-slim-bookworm", &["ruby"], &["wget", "curl"]),
];

/// Whether `image` (exact reference) has `binary` on PATH; None: not known.
pub fn image_has_binary(image: &str, binary: &str) -> Option<bool> {
    let (_, has, lacks) = IMAGE_BINARIES.iter().find(|(i, ..)| *i == image)?;
    if has.contains(&binary) {
        Some(true)
    } else if lacks.contains(&binary) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn rds(engine: RdsEngine, requested: &str) -> Result<String, String> {
        let v = rds_version(engine, requested)?;
        assert!(v.auto_minor_version_upgrade, "AWS patches the major");
        Ok(v.engine_version)
    }

    #[test]
    fn rds_pins_the_major_and_refuses_majors_it_does_not_offer() {
        assert_eq!(rds(RdsEngine::Mysql, "8.0.43"), Ok("8.0".into()));
        assert_eq!(rds(RdsEngine::Mysql, "8.4.6"), Ok("8.4".into()));
        assert_eq!(rds(RdsEngine::Postgres, "16.9"), Ok("16".into()));
        let err = rds(RdsEngine::Mysql, "5.6.51").unwrap_err();
        assert!(err.contains("5.7, 8.0, 8.4"), "{err}");
        let err = rds(RdsEngine::Postgres, "9.6.24").unwrap_err();
        assert!(err.contains("11, 12, 13, 14, 15, 16, 17, 18"), "{err}");
        for bad in ["10.23", "latest", "8.0.x"] {
            assert!(rds(RdsEngine::Postgres, bad).is_err(), "{bad}");
        }
        assert!(rds(RdsEngine::Mysql, "8").is_err());
        assert_eq!(rds(RdsEngine::Postgres, "17"), Ok("17".into()));
    }

    #[test]
    fn mariadb_and_documentdb_take_their_own_versions() {
        assert_eq!(rds(RdsEngine::Mariadb, "11.4.5"), Ok("11.4".into()));
        assert_eq!(rds(RdsEngine::Mariadb, "10.11.10"), Ok("10.11".into()));
        let err = rds(RdsEngine::Mariadb, "10.5.27").unwrap_err();
        assert!(err.contains("10.6, 10.11, 11.4, 11.8"), "{err}");
        assert_eq!(docdb_version("8.0.4"), Ok("8.0.0".into()));
        assert_eq!(docdb_version("5.0.30"), Ok("5.0.0".into()));
        assert_eq!(docdb_version("4.0.28"), Ok("4.0.0".into()));
        let err = docdb_version("7.0.14").unwrap_err();
        assert!(err.contains("4.0, 5.0, 8.0"), "{err}");
        assert!(docdb_version("3.6.23").is_err() && docdb_version("latest").is_err());
        let aws = endpoint(Managed::DocumentDb, Side::Aws);
        assert!(aws.tls && aws.query.contains("retryWrites=false"));
        assert_eq!(endpoint(Managed::DocumentDb, Side::Compose).query, "");
    }

    #[test]
    fn documentdb_versions_are_what_cfn_lint_data_offers() {
        let Some(data) = cfn_lint_provider("AWS::DocDB::DBCluster") else {
            return eprintln!("skipped: no .venv (scripts/test installs cfn-lint)");
        };
        let accepted = &data["properties"]["EngineVersion"]["enum"];
        for (_, version) in DOCDB_VERSIONS {
            assert!(
                accepted
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == version)),
                "{version} not in {accepted}"
            );
        }
    }

    #[test]
    fn redis_72_and_later_is_valkey_and_redis_oss_stops_at_71() {
        let valkey = cache_engine("7.2.4").unwrap();
        assert_eq!(
            (valkey.engine, valkey.engine_version.as_str()),
            ("valkey", "7.2")
        );
        let note = "redis 7.2.4 runs as Valkey 7.2 on ElastiCache, whose Redis OSS stops at 7.1";
        assert_eq!(valkey.note.as_deref(), Some(note));
        let redis = cache_engine("7.0.15").unwrap();
        assert_eq!(
            (redis.engine, redis.engine_version.as_str()),
            ("redis", "7.0")
        );
        assert_eq!(redis.note, None);
        assert_eq!(cache_engine("6.2.14").unwrap().engine_version, "6.2");
        assert!(
            cache_engine("7.1.0")
                .unwrap_err()
                .contains("only on ElastiCache")
        );
        assert!(cache_engine("7.4.2").is_err() && cache_engine("5.0.14").is_err());
    }

    #[test]
    fn search_and_broker_versions_are_what_the_services_take() {
        assert_eq!(search_engine("7.10.2"), Ok("Elasticsearch_7.10".into()));
        assert_eq!(
            search_engine("opensearch-2.19.1"),
            Ok("OpenSearch_2.19".into())
        );
        assert_eq!(search_engine("OpenSearch_1.3"), Ok("OpenSearch_1.3".into()));
        assert!(search_engine("6.8.23").is_err() && search_engine("opensearch-2").is_err());
        assert_eq!(mq_engine("3.13.0"), Ok("3.13".into()));
        assert_eq!(mq_engine("4.2.1"), Ok("4.2".into()));
        assert!(mq_engine("3.12.13").unwrap_err().contains("3.13, 4.2"));
    }

    #[test]
    fn managed_services_speak_tls_where_compose_speaks_plain() {
        use {Managed::*, Side::*};
        let table = [
            (OpenSearch, Aws, "https", Some(443), true),
            (AmazonMqRabbitMq, Aws, "amqps", Some(5671), true),
            (ElastiCacheRedis, Aws, "rediss", None, true),
            (S3, Aws, "https", Some(443), true),
            (RdsPostgres, Aws, "postgresql", None, true),
            (RdsMysql, Aws, "mysql", None, false),
            (OpenSearch, Compose, "http", None, false),
            (AmazonMqRabbitMq, Compose, "amqp", None, false),
            (ElastiCacheRedis, Compose, "redis", None, false),
            (S3, Compose, "http", None, false),
        ];
        for (kind, side, scheme, port, tls) in table {
            assert_eq!(
                endpoint(kind, side),
                Endpoint {
                    scheme,
                    port,
                    tls,
                    query: ""
                },
                "{kind:?} {side:?}"
            );
        }
    }

    #[test]
    fn only_s3_and_opensearch_clients_need_iam() {
        let s3 = client_grants(Managed::S3);
        for action in [
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:ListBucket",
        ] {
            assert!(s3.contains(&action), "{action}");
        }
        assert!(S3_BUCKET_LEVEL_ACTIONS.iter().all(|a| s3.contains(a)));
        let es = client_grants(Managed::OpenSearch);
        for m in ["Get", "Head", "Post", "Put", "Delete"] {
            assert!(es.contains(&format!("es:ESHttp{m}").as_str()), "{m}");
        }
        for setting in [
            "rds-mysql",
            "rds-postgres",
            "elasticache-redis",
            "amazonmq-rabbitmq",
        ] {
            assert!(client_grants(Managed::from_setting(setting).unwrap()).is_empty());
        }
    }

    #[test]
    fn secret_files_only_where_the_image_reads_them() {
        assert!(image_reads_secret_files("rabbitmq").is_empty());
        let mysql = image_reads_secret_files("mysql");
        assert!(mysql.contains(&"MYSQL_PASSWORD") && mysql.contains(&"MYSQL_ROOT_PASSWORD"));
        assert!(!mysql.contains(&"MYSQL_RANDOM_ROOT_PASSWORD"));
        let pg = image_reads_secret_files("postgres");
        assert!(pg.contains(&"POSTGRES_PASSWORD") && pg.contains(&"POSTGRES_USER"));
        let minio = ["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"];
        assert_eq!(image_reads_secret_files("minio/minio"), minio);
        assert!(image_reads_secret_files("redis").is_empty());
    }

    #[test]
    fn ruby_slim_has_neither_wget_nor_curl() {
        let ruby = "ruby:3.3.0-slim-bookworm";
        assert_eq!(image_has_binary(ruby, "wget"), Some(false));
        assert_eq!(image_has_binary(ruby, "curl"), Some(false));
        assert_eq!(image_has_binary("mysql:8.0.43", "curl"), None);
    }

    /// The first quoted value of the first line starting with `key` after
    /// `after` (for a list broken over lines, its first element).
    fn bom_value(bom: &str, after: &str, key: &str) -> String {
        let rest = &bom[bom.find(after).unwrap()..];
        let line = rest
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap();
        let from = &rest[rest.find(line).unwrap()..];
        from.split('"').nth(1).unwrap().to_string()
    }

    /// Each stdlib kind's pinned version resolves on AWS, and its health
    /// check's binary is in its image.
    #[test]
    fn stdlib_defaults_hold_to_the_contracts() {
        let boms = [
            include_str!("../../stdlib/mysql.bom"),
            include_str!("../../stdlib/postgres.bom"),
            include_str!("../../stdlib/redis.bom"),
            include_str!("../../stdlib/rabbitmq.bom"),
            include_str!("../../stdlib/elasticsearch.bom"),
            include_str!("../../stdlib/bucket.bom"),
            include_str!("../../stdlib/mongodb.bom"),
            include_str!("../../stdlib/mariadb.bom"),
        ];
        for bom in boms {
            let managed = Managed::from_setting(&bom_value(bom, "kind", "managed")).unwrap();
            let version = match managed {
                Managed::S3 => String::new(),
                _ => bom_value(bom, "kind", "param version"),
            };
            let resolved = match managed {
                Managed::RdsMysql => rds(RdsEngine::Mysql, &version),
                Managed::RdsPostgres => rds(RdsEngine::Postgres, &version),
                Managed::RdsMariadb => rds(RdsEngine::Mariadb, &version),
                Managed::DocumentDb => docdb_version(&version),
                Managed::ElastiCacheRedis => cache_engine(&version).map(|c| c.engine_version),
                Managed::OpenSearch => search_engine(&version),
                Managed::AmazonMqRabbitMq => mq_engine(&version),
                Managed::S3 => Ok(String::new()),
            };
            assert!(resolved.is_ok(), "{managed:?} {version}: {resolved:?}");
            let image = bom_value(bom, "kind", "image").replace("${version}", &version);
            let repository = image.split(':').next().unwrap_or_default();
            let repository = repository.rsplit('/').next().unwrap_or_default();
            assert!(
                engine_images(managed).contains(&repository),
                "{managed:?}: {image}"
            );
            let binary = bom_value(bom, "health {", "command");
            assert_eq!(
                image_has_binary(&image, &binary),
                Some(true),
                "{image} {binary}"
            );
        }
    }

    /// cfn-lint's copy of AWS's engine data, where scripts/test installed it.
    fn cfn_lint_data(file: &str) -> Option<Value> {
        let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
        let python = std::fs::read_dir(lib).ok()?.flatten().next()?.path();
        let dir = python.join("site-packages/cfnlint/data/schemas/extensions");
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).ok()?).ok()
    }

    /// cfn-lint's resource schema for `type_name` (us-east-1).
    fn cfn_lint_provider(type_name: &str) -> Option<Value> {
        let lib = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
        let python = std::fs::read_dir(lib).ok()?.flatten().next()?.path();
        let dir = python.join("site-packages/cfnlint/data/schemas/providers");
        let index: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("us-east-1.json")).ok()?)
                .ok()?;
        let file = index[type_name].as_str()?;
        let resources = python.join("site-packages/cfnlint/data/schemas/resources");
        serde_json::from_str(&std::fs::read_to_string(resources.join(format!("{file}.json"))).ok()?)
            .ok()
    }

    /// The EngineVersion enum of the `if Engine == engine` branch, from its `if` or `then`.
    fn versions(data: &Value, engine: &str, part: &str) -> Vec<String> {
        let branches = data["allOf"].as_array().into_iter().flatten();
        let mut hits = branches.filter(|b| b["if"]["properties"]["Engine"]["const"] == engine);
        let list = hits
            .next_back()
            .map(|b| &b[part]["properties"]["EngineVersion"]["enum"]);
        let list = list.and_then(Value::as_array).into_iter().flatten();
        list.filter_map(|v| Some(v.as_str()?.to_string())).collect()
    }

    #[test]
    fn rds_majors_are_what_cfn_lint_data_offers() {
        let (Some(all), Some(old)) = (
            cfn_lint_data("aws_rds_dbinstance/engine_version.json"),
            cfn_lint_data("aws_rds_dbinstance/engine_version_deprecated.json"),
        ) else {
            return eprintln!("skipped: no .venv (scripts/test installs cfn-lint)");
        };
        for (name, offered, major_parts) in [
            ("mysql", RDS_MYSQL_MAJORS, 2),
            ("postgres", RDS_POSTGRES_MAJORS, 1),
        ] {
            let deprecated = versions(&old, name, "if");
            let major = |v: &String| {
                v.split(['.', '-'])
                    .take(major_parts)
                    .collect::<Vec<_>>()
                    .join(".")
            };
            let creatable = versions(&all, name, "then").into_iter();
            let creatable = creatable.filter(|v| v.contains('.') && !deprecated.contains(v));
            let live: BTreeSet<String> = creatable.map(|v| major(&v)).collect();
            let offered: BTreeSet<String> = offered.iter().map(|m| m.to_string()).collect();
            assert_eq!(
                live, offered,
                "{name}: the majors with a version RDS still creates"
            );
        }
        // No MariaDB version is marked deprecated there: each major offered
        // must at least have versions RDS lists.
        let mariadb = versions(&all, "mariadb", "then");
        for major in RDS_MARIADB_MAJORS {
            assert!(
                mariadb.iter().any(|v| v.starts_with(&format!("{major}."))),
                "mariadb {major}"
            );
        }
        let mysql = versions(&all, "mysql", "then");
        assert!(
            mysql.contains(&"8.0.43".into())
                && !versions(&old, "mysql", "if").contains(&"8.0.43".into())
        );
    }

    #[test]
    fn cache_pairs_are_in_cfn_lint_data() {
        let Some(data) = cfn_lint_data("aws_elasticache_cachecluster/engine_version.json") else {
            return eprintln!("skipped: no .venv (scripts/test installs cfn-lint)");
        };
        for (_, engine, version) in CACHE_ENGINES {
            let accepted = versions(&data, engine, "then");
            assert!(
                accepted.contains(&version.to_string()),
                "{engine} {version}"
            );
        }
        assert!(!versions(&data, "redis", "then").contains(&"7.2".to_string()));
    }
}
