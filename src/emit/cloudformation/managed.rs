//! Managed services for the stateful stdlib kinds: RDS for MySQL and
//! PostgreSQL, ElastiCache for Redis, OpenSearch, Amazon MQ for RabbitMQ, S3
//! for buckets. Persistent environments keep snapshots (or retain what cannot
//! be snapshotted) and deletion protection; ephemeral ones are disposable and
//! small.

use super::cat;
use super::{Template, skips};
use crate::emit::json::Json;
use crate::emit::json::json;
use crate::lower::plan::{Bucket, Cache, Database, DbEngine, Queue, Role, Search, Workload};

fn subnet_group_name(w: &Workload) -> String {
    format!("{}SubnetGroup", w.id)
}

/// The subnet group a managed service is placed in: the private subnets.
/// `description` is the resource type's name for its description property.
fn subnet_group(t: &mut Template, w: &Workload, resource_type: &str, description: &str) {
    let subnets = t.private_subnets();
    let tags = t.tags();
    t.add(
        subnet_group_name(w),
        json!({
            "Type": resource_type,
            "Properties": {description: format!("{}: private subnets", w.name), "SubnetIds": subnets, "Tags": tags}
        }),
    );
}

pub(crate) fn resource(t: &mut Template, w: &Workload) {
    match &w.role {
        Role::Database(db) => rds(t, w, db),
        Role::Cache(cache) => redis(t, w, cache),
        Role::Search(search) => opensearch(t, w, search),
        Role::Queue(queue) => rabbitmq(t, w, queue),
        Role::Bucket(bucket) => self::bucket(t, w, bucket),
        Role::Service | Role::Job | Role::LoadBalancer(_) => {}
    }
}

fn security_group(w: &Workload) -> Json {
    json!({"Fn::GetAtt": [format!("{}SecurityGroup", w.id), "GroupId"]})
}

fn resolve_secret(secret: &str) -> String {
    format!("{{{{resolve:secretsmanager:{secret}:SecretString}}}}")
}

/// Checkov's skip, and cfn-lint's: RDS takes a major-only `EngineVersion`
/// (minor upgrades applied by AWS), which cfn-lint 1.x flags by mistake.
fn rds_metadata() -> Json {
    let mut metadata = skips(&[(
        "CKV_AWS_118",
        "enhanced monitoring needs an extra IAM role; CloudWatch metrics and log exports cover the landscape's needs",
    )]);
    metadata["cfn-lint"] = json!({"config": {"ignore_checks": crate::lower::contracts::RDS_MAJOR_VERSION_CFN_LINT_IGNORES}});
    metadata
}

fn rds(t: &mut Template, w: &Workload, db: &Database) {
    let id = w.id.clone();
    let engine = match db.engine {
        DbEngine::Mysql => "mysql",
        DbEngine::Postgres => "postgres",
        DbEngine::Mariadb => "mariadb",
        DbEngine::DocumentDb => return docdb(t, w, db),
    };
    subnet_group(t, w, "AWS::RDS::DBSubnetGroup", "DBSubnetGroupDescription");
    let persistent = !t.ephemeral();
    let mut props = json!({
        "Engine": engine,
        "EngineVersion": &db.engine_version,
        "DBInstanceClass": &db.instance_class,
        "AllocatedStorage": w.storage_gib.unwrap_or(20).max(20).to_string(),
        "StorageType": "gp3",
        "StorageEncrypted": true,
        "DBSubnetGroupName": {"Ref": subnet_group_name(w)},
        "VPCSecurityGroups": [security_group(w)],
        "PubliclyAccessible": false,
        "MultiAZ": persistent,
        "BackupRetentionPeriod": if persistent { 7 } else { 1 },
        "DeletionProtection": persistent,
        "CopyTagsToSnapshot": true,
        "AutoMinorVersionUpgrade": db.auto_minor_version_upgrade,
        "EnableIAMDatabaseAuthentication": true,
        "Port": db.port.to_string(),
        "Tags": t.tags(),
    });
    if let Some(name) = &db.database {
        props["DBName"] = json!(name.replace('-', "_"));
    }
    if let Some(user) = &db.user {
        props["MasterUsername"] = json!(user);
    }
    if let Some(secret) = &db.password {
        props["MasterUserPassword"] = json!(resolve_secret(secret));
    }
    props["EnableCloudwatchLogsExports"] = match db.engine {
        DbEngine::Mysql | DbEngine::Mariadb => json!(["error", "slowquery"]),
        DbEngine::Postgres => json!(["postgresql"]),
        DbEngine::DocumentDb => json!(["audit", "profiler"]),
    };
    let policy = t.deletion_policy(true);
    t.add(
        cat(&[&id, "Database"]),
        json!({
            "Type": "AWS::RDS::DBInstance",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": props,
            "Metadata": rds_metadata(),
        }),
    );
    t.outputs.insert(
        cat(&[&id, "Endpoint"]),
        json!({"Description": format!("{} endpoint", w.name), "Value": {"Fn::GetAtt": [cat(&[&id, "Database"]), "Endpoint.Address"]}}),
    );
}

/// Amazon DocumentDB for the `mongodb` kind: a cluster (storage replicated
/// across three zones by the service) with one instance, two on persistent
/// environments so that one can fail over to the other.
/// source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-docdb-dbcluster.html
fn docdb(t: &mut Template, w: &Workload, db: &Database) {
    let id = w.id.clone();
    subnet_group(
        t,
        w,
        "AWS::DocDB::DBSubnetGroup",
        "DBSubnetGroupDescription",
    );
    let persistent = !t.ephemeral();
    let mut props = json!({
        "EngineVersion": &db.engine_version,
        "DBSubnetGroupName": {"Ref": subnet_group_name(w)},
        "VpcSecurityGroupIds": [security_group(w)],
        "StorageEncrypted": true,
        "BackupRetentionPeriod": if persistent { 7 } else { 1 },
        "DeletionProtection": persistent,
        "CopyTagsToSnapshot": true,
        // "audit" needs the audit_logs cluster parameter; "profiler" exports
        // slow operations once profiling is switched on.
        "EnableCloudwatchLogsExports": ["audit", "profiler"],
        "Port": db.port,
        "Tags": t.tags(),
    });
    if let Some(user) = &db.user {
        props["MasterUsername"] = json!(user);
    }
    if let Some(secret) = &db.password {
        props["MasterUserPassword"] = json!(resolve_secret(secret));
    }
    let policy = t.deletion_policy(true);
    t.add(
        cat(&[&id, "Database"]),
        json!({
            "Type": "AWS::DocDB::DBCluster",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": props,
            "Metadata": skips(&[
                ("CKV_AWS_182", "encrypted at rest with the service key; a customer key adds cost and a key policy without a requirement"),
                ("CKV_AWS_104", "audit logs need a cluster parameter group with audit_logs enabled; the default group keeps the engine's defaults"),
            ]),
        }),
    );
    for n in 1..=if persistent { 2 } else { 1 } {
        let tags = t.tags();
        t.add(
            format!("{id}Instance{n}"),
            json!({
                "Type": "AWS::DocDB::DBInstance",
                "Properties": {
                    "DBClusterIdentifier": {"Ref": cat(&[&id, "Database"])},
                    "DBInstanceClass": &db.instance_class,
                    "AutoMinorVersionUpgrade": db.auto_minor_version_upgrade,
                    "Tags": tags,
                }
            }),
        );
    }
    t.outputs.insert(
        cat(&[&id, "Endpoint"]),
        json!({"Description": format!("{} endpoint (TLS)", w.name), "Value": {"Fn::GetAtt": [cat(&[&id, "Database"]), "Endpoint"]}}),
    );
}

fn redis(t: &mut Template, w: &Workload, cache: &Cache) {
    let id = w.id.clone();
    subnet_group(t, w, "AWS::ElastiCache::SubnetGroup", "Description");
    let persistent = !t.ephemeral();
    let nodes = if persistent { 2 } else { 1 };
    let policy = t.deletion_policy(true);
    let props = json!({
        "ReplicationGroupDescription": format!("{} ({})", w.name, t.plan.instance.project),
        "Engine": &cache.engine,
        "EngineVersion": &cache.engine_version,
        "CacheNodeType": &cache.node_type,
        "NumCacheClusters": nodes,
        "AutomaticFailoverEnabled": persistent,
        "MultiAZEnabled": persistent,
        "AtRestEncryptionEnabled": true,
        "TransitEncryptionEnabled": true,
        "CacheSubnetGroupName": {"Ref": subnet_group_name(w)},
        "SecurityGroupIds": [security_group(w)],
        "SnapshotRetentionLimit": if persistent { 7 } else { 0 },
        "Port": cache.port,
        "Tags": t.tags(),
    });
    t.add(
        cat(&[&id, "Cache"]),
        json!({
            "Type": "AWS::ElastiCache::ReplicationGroup",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": props,
            "Metadata": skips(&[("CKV_AWS_31", "clients authenticate by network: only the components that reference the cache may reach it (security group); no AUTH token")]),
        }),
    );
    t.outputs.insert(
        cat(&[&id, "Endpoint"]),
        json!({"Description": format!("{} endpoint (TLS)", w.name), "Value": {"Fn::GetAtt": [cat(&[&id, "Cache"]), "PrimaryEndPoint.Address"]}}),
    );
}

fn opensearch(t: &mut Template, w: &Workload, search: &Search) {
    let id = w.id.clone();
    let subnets = t.private_subnets();
    let policy = t.deletion_policy(false);
    let props = json!({
        "EngineVersion": &search.engine_version,
        "ClusterConfig": {
            "InstanceType": &search.instance_type,
            "InstanceCount": 1,
        },
        "EBSOptions": {"EBSEnabled": true, "VolumeType": "gp3", "VolumeSize": w.storage_gib.unwrap_or(10).max(10)},
        // A VPC domain without fine-grained access control: the security
        // group admits only the components that use it, and they send plain
        // (unsigned) HTTPS requests, so the resource policy lets any
        // principal call the HTTP API of this domain only.
        "AccessPolicies": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "es:ESHttp*",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}:domain/*"},
            }],
        },
        "EncryptionAtRestOptions": {"Enabled": true},
        "NodeToNodeEncryptionOptions": {"Enabled": true},
        "DomainEndpointOptions": {"EnforceHTTPS": true, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
        "VPCOptions": {"SubnetIds": [{"Fn::Select": [0, subnets]}], "SecurityGroupIds": [security_group(w)]},
        "Tags": t.tags(),
    });
    t.add(
        cat(&[&id, "Domain"]),
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
        cat(&[&id, "Endpoint"]),
        json!({"Description": format!("{} endpoint (HTTPS, 443)", w.name), "Value": {"Fn::GetAtt": [cat(&[&id, "Domain"]), "DomainEndpoint"]}}),
    );
}

fn rabbitmq(t: &mut Template, w: &Workload, queue: &Queue) {
    let id = w.id.clone();
    let subnets = t.private_subnets();
    let mut users = Vec::new();
    if let Some(secret) = &queue.password {
        users.push(json!({
            "Username": &queue.user,
            "Password": resolve_secret(secret),
        }));
    }
    let policy = t.deletion_policy(false);
    t.add(
        cat(&[&id, "Broker"]),
        json!({
            "Type": "AWS::AmazonMQ::Broker",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": policy,
            "Properties": {
                // Amazon MQ broker names have at most 50 characters.
                "BrokerName": crate::lower::dns_label(&format!("{}-{}", t.plan.instance.project, w.name), 50),
                "EngineType": "RABBITMQ",
                "EngineVersion": &queue.engine_version,
                "HostInstanceType": &queue.instance_type,
                "DeploymentMode": "SINGLE_INSTANCE",
                "PubliclyAccessible": false,
                "AutoMinorVersionUpgrade": true,
                "SubnetIds": [{"Fn::Select": [0, subnets]}],
                "SecurityGroups": [security_group(w)],
                "Logs": {"General": true},
                "Users": users,
                "Tags": t.tags(),
            }
        }),
    );
    t.outputs.insert(
        cat(&[&id, "Endpoint"]),
        json!({"Description": format!("{} AMQPS endpoint", w.name), "Value": {"Fn::Select": [0, {"Fn::GetAtt": [cat(&[&id, "Broker"]), "AmqpEndpoints"]}]}}),
    );
}

fn bucket(t: &mut Template, w: &Workload, bucket: &Bucket) {
    let id = w.id.clone();
    let versioning = bucket.versioning;
    let policy = t.deletion_policy(false);
    t.add(
        cat(&[&id, "Bucket"]),
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
        cat(&[&id, "BucketName"]),
        json!({"Description": format!("{} bucket", w.name), "Value": {"Ref": cat(&[&id, "Bucket"])}}),
    );
}
