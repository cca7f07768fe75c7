//! Managed services for the stateful stdlib kinds: RDS for MySQL and
//! PostgreSQL, ElastiCache for Redis, OpenSearch, Amazon MQ for RabbitMQ, S3
//! for buckets. Persistent environments keep snapshots (or retain what cannot
//! be snapshotted) and deletion protection; ephemeral ones are disposable and
//! small.

use super::{Realisation, Template, skips};
use crate::model::{Component, Value};
use serde_json::{Value as Json, json};

fn param<'c>(c: &'c Component, name: &str) -> Option<&'c Value> {
    c.params.get(name).or_else(|| c.settings.get(name))
}

fn param_str(c: &Component, name: &str, default: &str) -> String {
    param(c, name)
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_string()
}

fn storage_gib(c: &Component, default: u64) -> u64 {
    match c.settings.get("storage") {
        Some(Value::Size(b)) => (b.div_ceil(1 << 30)).max(default),
        _ => default,
    }
}

fn secret_ref(c: &Component, name: &str) -> Option<String> {
    match param(c, name) {
        Some(Value::Secret(s)) => Some(s.clone()),
        _ => None,
    }
}

fn port_of(c: &Component) -> Option<i64> {
    c.ports().values().next().copied()
}

fn subnet_group_name(t: &Template, c: &Component) -> String {
    format!("{}SubnetGroup", t.id(&c.name))
}

pub(crate) fn resource(t: &mut Template, c: &Component, kind: Realisation) {
    match kind {
        Realisation::Rds => rds(t, c),
        Realisation::Redis => redis(t, c),
        Realisation::OpenSearch => opensearch(t, c),
        Realisation::RabbitMq => rabbitmq(t, c),
        Realisation::Bucket => bucket(t, c),
        Realisation::Ecs | Realisation::LoadBalancer => {}
    }
}

fn security_group(t: &Template, c: &Component) -> Json {
    json!({"Fn::GetAtt": [format!("{}SecurityGroup", t.id(&c.name)), "GroupId"]})
}

fn rds(t: &mut Template, c: &Component) {
    let id = t.id(&c.name);
    let engine = if c.settings.get("managed").and_then(Value::as_str) == Some("rds-mysql") {
        "mysql"
    } else {
        "postgres"
    };
    let subnets = t.private_subnets();
    let tags = t.tags();
    t.add(
        subnet_group_name(t, c),
        json!({
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {"DBSubnetGroupDescription": format!("{}: private subnets", c.name), "SubnetIds": subnets, "Tags": tags}
        }),
    );
    let persistent = !t.ephemeral();
    let mut props = json!({
        "Engine": engine,
        "EngineVersion": param_str(c, "version", if engine == "mysql" { "8.0.43" } else { "16.9" }),
        "DBInstanceClass": if persistent { param_str(c, "instance_class", "db.t3.micro") } else { String::from("db.t3.micro") },
        "AllocatedStorage": storage_gib(c, 20).to_string(),
        "StorageType": "gp3",
        "StorageEncrypted": true,
        "DBSubnetGroupName": {"Ref": subnet_group_name(t, c)},
        "VPCSecurityGroups": [security_group(t, c)],
        "PubliclyAccessible": false,
        "MultiAZ": persistent,
        "BackupRetentionPeriod": if persistent { 7 } else { 1 },
        "DeletionProtection": persistent,
        "CopyTagsToSnapshot": true,
        "AutoMinorVersionUpgrade": true,
        "EnableIAMDatabaseAuthentication": true,
        "Tags": t.tags(),
    });
    if let Some(port) = port_of(c) {
        props["Port"] = json!(port.to_string());
    }
    if let Some(db) = param(c, "database").and_then(Value::as_str) {
        props["DBName"] = json!(db.replace('-', "_"));
    }
    if let Some(user) = param(c, "user").and_then(Value::as_str) {
        props["MasterUsername"] = json!(user);
    }
    if let Some(secret) = secret_ref(c, "password") {
        props["MasterUserPassword"] = json!(format!(
            "{{{{resolve:secretsmanager:{secret}:SecretString}}}}"
        ));
    }
    if engine == "mysql" {
        props["EnableCloudwatchLogsExports"] = json!(["error", "slowquery"]);
    } else {
        props["EnableCloudwatchLogsExports"] = json!(["postgresql"]);
    }
    let policy = t.deletion_policy(true);
    t.add(
        format!("{id}Database"),
        json!({
            "Type": "AWS::RDS::DBInstance",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": props,
            "Metadata": skips(&[
                ("CKV_AWS_118", "enhanced monitoring needs an extra IAM role; CloudWatch metrics and log exports cover the landscape's needs"),
            ]),
        }),
    );
    t.outputs.insert(
        format!("{id}Endpoint"),
        json!({"Description": format!("{} endpoint", c.name), "Value": {"Fn::GetAtt": [format!("{id}Database"), "Endpoint.Address"]}}),
    );
}

fn redis(t: &mut Template, c: &Component) {
    let id = t.id(&c.name);
    let subnets = t.private_subnets();
    let tags = t.tags();
    t.add(
        subnet_group_name(t, c),
        json!({
            "Type": "AWS::ElastiCache::SubnetGroup",
            "Properties": {"Description": format!("{}: private subnets", c.name), "SubnetIds": subnets, "Tags": tags}
        }),
    );
    let persistent = !t.ephemeral();
    let nodes = if persistent { 2 } else { 1 };
    let policy = t.deletion_policy(true);
    let mut props = json!({
        "ReplicationGroupDescription": format!("{} ({})", c.name, t.ctx.project()),
        "Engine": "redis",
        "EngineVersion": param_str(c, "version", "7.1").split('.').take(2).collect::<Vec<_>>().join("."),
        "CacheNodeType": if persistent { param_str(c, "instance_class", "cache.t3.micro") } else { String::from("cache.t3.micro") },
        "NumCacheClusters": nodes,
        "AutomaticFailoverEnabled": persistent,
        "MultiAZEnabled": persistent,
        "AtRestEncryptionEnabled": true,
        "TransitEncryptionEnabled": true,
        "CacheSubnetGroupName": {"Ref": subnet_group_name(t, c)},
        "SecurityGroupIds": [security_group(t, c)],
        "SnapshotRetentionLimit": if persistent { 7 } else { 0 },
        "Tags": t.tags(),
    });
    if let Some(port) = port_of(c) {
        props["Port"] = json!(port);
    }
    t.add(
        format!("{id}Cache"),
        json!({
            "Type": "AWS::ElastiCache::ReplicationGroup",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": props,
            "Metadata": skips(&[("CKV_AWS_31", "clients authenticate by network: only the components that reference the cache may reach it (security group); no AUTH token")]),
        }),
    );
    t.outputs.insert(
        format!("{id}Endpoint"),
        json!({"Description": format!("{} endpoint", c.name), "Value": {"Fn::GetAtt": [format!("{id}Cache"), "PrimaryEndPoint.Address"]}}),
    );
}

fn opensearch(t: &mut Template, c: &Component) {
    let id = t.id(&c.name);
    let persistent = !t.ephemeral();
    let version = param_str(c, "version", "7.10.2");
    let engine = format!(
        "Elasticsearch_{}",
        version.split('.').take(2).collect::<Vec<_>>().join(".")
    );
    let subnets = t.private_subnets();
    let policy = t.deletion_policy(false);
    let props = json!({
        "EngineVersion": engine,
        "ClusterConfig": {
            "InstanceType": if persistent { param_str(c, "instance_class", "t3.small.search") } else { String::from("t3.small.search") },
            "InstanceCount": 1,
        },
        "EBSOptions": {"EBSEnabled": true, "VolumeType": "gp3", "VolumeSize": storage_gib(c, 10)},
        "EncryptionAtRestOptions": {"Enabled": true},
        "NodeToNodeEncryptionOptions": {"Enabled": true},
        "DomainEndpointOptions": {"EnforceHTTPS": true, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
        "VPCOptions": {"SubnetIds": [{"Fn::Select": [0, subnets]}], "SecurityGroupIds": [security_group(t, c)]},
        "Tags": t.tags(),
    });
    t.add(
        format!("{id}Domain"),
        json!({
            "Type": "AWS::OpenSearchService::Domain",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": props,
            "Metadata": skips(&[
                ("CKV_AWS_84", "search logs are not published; the domain is reachable only from the components that reference it"),
                ("CKV_AWS_317", "audit logging needs fine-grained access control, which these landscapes do not use"),
                ("CKV_AWS_318", "a single data node: the landscape sizes the domain, not a dedicated-master layout"),
                ("CKV_AWS_247", "encrypted at rest with the service key; a customer key adds cost without a requirement"),
            ]),
        }),
    );
    t.outputs.insert(
        format!("{id}Endpoint"),
        json!({"Description": format!("{} endpoint", c.name), "Value": {"Fn::GetAtt": [format!("{id}Domain"), "DomainEndpoint"]}}),
    );
}

fn rabbitmq(t: &mut Template, c: &Component) {
    let id = t.id(&c.name);
    let persistent = !t.ephemeral();
    let subnets = t.private_subnets();
    let mut users = Vec::new();
    if let Some(secret) = secret_ref(c, "password") {
        users.push(json!({
            "Username": param_str(c, "user", "app"),
            "Password": format!("{{{{resolve:secretsmanager:{secret}:SecretString}}}}"),
        }));
    }
    let version = param_str(c, "version", "3.13");
    let version = version.split('.').take(2).collect::<Vec<_>>().join(".");
    let policy = t.deletion_policy(false);
    t.add(
        format!("{id}Broker"),
        json!({
            "Type": "AWS::AmazonMQ::Broker",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": {
                // Amazon MQ broker names have at most 50 characters.
                "BrokerName": crate::lower::dns_label(&format!("{}-{}", t.ctx.project(), c.name), 50),
                "EngineType": "RABBITMQ",
                "EngineVersion": version,
                "HostInstanceType": if persistent { param_str(c, "instance_class", "mq.t3.micro") } else { String::from("mq.t3.micro") },
                "DeploymentMode": "SINGLE_INSTANCE",
                "PubliclyAccessible": false,
                "AutoMinorVersionUpgrade": true,
                "SubnetIds": [{"Fn::Select": [0, subnets]}],
                "SecurityGroups": [security_group(t, c)],
                "Logs": {"General": true},
                "Users": users,
                "Tags": t.tags(),
            }
        }),
    );
    t.outputs.insert(
        format!("{id}Endpoint"),
        json!({"Description": format!("{} AMQP endpoint", c.name), "Value": {"Fn::Select": [0, {"Fn::GetAtt": [format!("{id}Broker"), "AmqpEndpoints"]}]}}),
    );
}

fn bucket(t: &mut Template, c: &Component) {
    let id = t.id(&c.name);
    let versioning = !matches!(param(c, "versioning"), Some(Value::Bool(false)));
    let policy = t.deletion_policy(false);
    t.add(
        format!("{id}Bucket"),
        json!({
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": {
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
                "VersioningConfiguration": {"Status": if versioning { "Enabled" } else { "Suspended" }},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "Tags": t.tags(),
            },
            "Metadata": skips(&[("CKV_AWS_18", "access logging needs a separate log bucket, which the landscape does not declare")]),
        }),
    );
    t.outputs.insert(
        format!("{id}BucketName"),
        json!({"Description": format!("{} bucket", c.name), "Value": {"Ref": format!("{id}Bucket")}}),
    );
}
