//! ECS on Fargate: the cluster, a private DNS namespace for service discovery,
//! and for each container component a log group, a task definition, a task
//! role when its managed dependencies need grants, and — unless it is a
//! one-off job (run by `jobs.rs`) — a service with rolling, start-first deployments gated on
//! health checks and rolled back by the circuit breaker.

use super::cat;
use super::{Template, physical, skips};
use crate::emit::json::Json;
use crate::emit::json::json;
use crate::lower::contracts::{self, Managed};
use crate::lower::plan::{Check, EnvValue, Health, ImageSource, Role, Workload};
use std::collections::BTreeSet;

/// A Secrets Manager secret's ARN up to its name, for `Fn::Sub`.
const SECRET_ARN: &str =
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:";

pub(crate) fn cluster(t: &mut Template) {
    let tags = t.tags();
    if t.plan.instance.shared.cluster.is_none() {
        t.add(
            String::from("Cluster"),
            json!({
                "Type": "AWS::ECS::Cluster",
                "Properties": {
                    "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
                    "Tags": tags,
                }
            }),
        );
    }
    let vpc = t.vpc();
    let namespace = t.namespace();
    let tags = t.tags();
    t.add(
        String::from("Namespace"),
        json!({
            "Type": "AWS::ServiceDiscovery::PrivateDnsNamespace",
            "Properties": {
                "Name": namespace,
                "Vpc": vpc,
                "Description": "Service discovery: components reach each other as NAME.<namespace>",
                "Tags": tags,
            }
        }),
    );
    let tags = t.tags();
    t.add(
        String::from("TaskRole"),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Role of the running containers that need no AWS permissions",
                "AssumeRolePolicyDocument": assume_ecs_tasks(),
                "Tags": tags,
            }
        }),
    );
}

fn assume_ecs_tasks() -> Json {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// IAM's quota on a role's inline policies, in characters other than white
/// space (IAM and AWS STS quotas, "Role policy size").
const ROLE_POLICY_QUOTA: usize = 10_240;

/// The most characters one secret adds to a policy once CloudFormation has
/// substituted the longest partition and region names: `"<arn>-*",`.
fn secret_policy_len(secret: &str) -> usize {
    "\"arn:aws-us-gov:secretsmanager:ap-southeast-4:123456789012:secret:-*\",".len() + secret.len()
}

/// What the logs statement and the policy's frame take, with room to spare.
const POLICY_FRAME_LEN: usize = 600;

/// The role ECS uses to pull images, write logs and read exactly the secrets
/// the tasks reference. One role for all tasks while its policy fits IAM's
/// quota; past it (some 120 short secret names) each task that reads secrets gets an
/// execution role of its own with just those, which also keeps every task
/// from reading every other task's secrets.
pub(crate) fn execution_role(t: &mut Template) {
    let all: BTreeSet<String> = t.task_secrets.values().flatten().cloned().collect();
    let shared_len = POLICY_FRAME_LEN + all.iter().map(|s| secret_policy_len(s)).sum::<usize>();
    if shared_len <= ROLE_POLICY_QUOTA {
        add_execution_role(
            t,
            String::from("ExecutionRole"),
            "Lets ECS pull images, write logs and read the secrets the tasks reference",
            &all,
        );
        return;
    }
    add_execution_role(
        t,
        String::from("ExecutionRole"),
        "Lets ECS pull images and write logs for the tasks that read no secrets",
        &BTreeSet::new(),
    );
    for (id, secrets) in std::mem::take(&mut t.task_secrets) {
        let role = cat(&[&id, "ExecutionRole"]);
        add_execution_role(
            t,
            role.clone(),
            "Lets ECS pull the task's image, write its logs and read its secrets",
            &secrets,
        );
        if let Some(definition) = t.resources.get_mut(&cat(&[&id, "TaskDefinition"])) {
            definition["Properties"]["ExecutionRoleArn"] = json!({"Fn::GetAtt": [role, "Arn"]});
        }
    }
}

fn add_execution_role(t: &mut Template, id: String, description: &str, secrets: &BTreeSet<String>) {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}
    })];
    if !secrets.is_empty() {
        let resources: Vec<Json> = secrets
            .iter()
            .map(|s| json!({"Fn::Sub": cat(&[SECRET_ARN, s, "-*"])}))
            .collect();
        statements.push(json!({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": resources}));
    }
    let tags = t.tags();
    t.add(
        id,
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": description,
                "AssumeRolePolicyDocument": assume_ecs_tasks(),
                "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}],
                "Policies": [{"PolicyName": "logs-and-secrets", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
                "Tags": tags,
            }
        }),
    );
}

// ARNs are joined from `Fn::GetAtt` (not `Fn::Sub`) so that a split into
// nested stacks can pass them as parameters.
/// The task role's grants a workload needs on the managed services it uses:
/// S3 objects of the buckets it reads or writes, HTTP on the search domains.
fn grants(t: &Template, w: &Workload) -> Vec<Json> {
    let mut statements = Vec::new();
    for &(server, clients) in &t.grantors {
        if !clients.iter().any(|a| a.from == w.name) {
            continue;
        }
        let Some(s) = t.workload(server) else {
            continue;
        };
        let id = &s.id;
        let (managed, resource, objects) = match &s.role {
            Role::Bucket(_) => (
                Managed::S3,
                json!({"Fn::GetAtt": [cat(&[id, "Bucket"]), "Arn"]}),
                json!({"Fn::Join": ["", [{"Fn::GetAtt": [cat(&[id, "Bucket"]), "Arn"]}, "/*"]]}),
            ),
            Role::Search(_) => (
                Managed::OpenSearch,
                json!({"Fn::GetAtt": [cat(&[id, "Domain"]), "Arn"]}),
                json!({"Fn::Join": ["", [{"Fn::GetAtt": [cat(&[id, "Domain"]), "Arn"]}, "/*"]]}),
            ),
            _ => continue,
        };
        let (on_resource, on_objects): (Vec<&str>, Vec<&str>) = contracts::client_grants(managed)
            .iter()
            .partition(|a| contracts::S3_BUCKET_LEVEL_ACTIONS.contains(a));
        if !on_resource.is_empty() {
            statements
                .push(json!({"Effect": "Allow", "Action": on_resource, "Resource": resource}));
        }
        if !on_objects.is_empty() {
            statements.push(json!({"Effect": "Allow", "Action": on_objects, "Resource": objects}));
        }
    }
    statements
}

/// The role a workload's containers run as: its own when it needs grants.
fn task_role(t: &mut Template, w: &Workload) -> Json {
    let statements = grants(t, w);
    if statements.is_empty() {
        return json!({"Fn::GetAtt": ["TaskRole", "Arn"]});
    }
    let id = cat(&[&w.id, "TaskRole"]);
    let tags = t.tags();
    t.add(
        id.clone(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": cat(&["Role of `", &w.name, "`'s containers: access to the managed services it uses"]),
                "AssumeRolePolicyDocument": assume_ecs_tasks(),
                "Policies": [{"PolicyName": "managed-services", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
                "Tags": tags,
            }
        }),
    );
    json!({"Fn::GetAtt": [id, "Arn"]})
}

fn health_check(t: &Template, h: &Health) -> Json {
    let command: Vec<Json> = match &h.check {
        Check::Exec { command } => std::iter::once(json!("CMD"))
            .chain(command.iter().map(|c| json!(c)))
            .collect(),
        Check::Shell { command } => vec![json!("CMD-SHELL"), json!(command)],
        probe => std::iter::once(json!("CMD"))
            .chain(
                probe
                    .probe_command()
                    .unwrap_or_default()
                    .into_iter()
                    .map(Json::String),
            )
            .collect(),
    };
    let _ = t;
    json!({
        "Command": command,
        "Interval": h.ecs.interval_s,
        "Timeout": h.ecs.timeout_s,
        "Retries": h.ecs.retries,
        "StartPeriod": h.ecs.start_period_s,
    })
}

/// The task definitions' CPU architecture: the platform images are published for.
fn runtime_platform(platform: &str) -> &'static str {
    if platform.ends_with("arm64") {
        "ARM64"
    } else {
        "X86_64"
    }
}

/// Log group, task definition and (for long-running components) service.
pub(crate) fn workload(t: &mut Template, w: &Workload) {
    let id = w.id.clone();
    let retention = if t.ephemeral() { 7 } else { 90 };
    let tags = t.tags();
    t.add(
        cat(&[&id, "LogGroup"]),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"RetentionInDays": retention, "Tags": tags},
            "Metadata": skips(&[("CKV_AWS_158", "logs are encrypted at rest with the CloudWatch Logs service key; a customer key adds cost without a requirement")]),
        }),
    );
    let image = match &w.image {
        ImageSource::Pull(reference) => Json::String(reference.clone()),
        ImageSource::Build(name) => {
            let registry = t.parameter(
                "ImageRegistry",
                json!({"Type": "String", "Description": "Registry the images were published to with images/publish.sh (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com); each is pulled as <registry>/<repository>:<content tag>", "AllowedPattern": "^[a-z0-9][a-z0-9./:-]*$"}),
            );
            match t.plan.images.iter().find(|i| &i.name == name) {
                Some(image) => {
                    json!({"Fn::Join": ["", [registry, cat(&["/", &image.repository, ":", &image.content_tag])]]})
                }
                None => {
                    t.errors.push(
                        crate::diag::Diagnostic::new(
                            crate::diag::ErrorCode::NameNotValid,
                            format!(
                                "`{}` builds image `{name}`, which the plan does not hold",
                                w.name
                            ),
                        )
                        .help("this is a bug in bomc; please report it with the .bom file"),
                    );
                    return;
                }
            }
        }
    };
    let mut environment = Vec::new();
    let mut secrets = Vec::new();
    for var in w.env.iter().filter(|v| !v.compose_only) {
        match &var.value {
            EnvValue::Secret(s) => {
                t.task_secrets
                    .entry(id.clone())
                    .or_default()
                    .insert(s.secret.clone());
                secrets.push(json!({"Name": &var.name, "ValueFrom": {"Fn::Sub": cat(&[SECRET_ARN, &s.secret])}}));
            }
            EnvValue::Text(text) => {
                environment.push(json!({"Name": &var.name, "Value": t.text(text)}));
            }
        }
    }
    let ports: Vec<Json> = w
        .ports
        .iter()
        .map(|p| json!({"ContainerPort": p.number, "Protocol": p.protocol.as_str()}))
        .collect();
    let mut container = json!({
        "Name": &w.name,
        "Image": image,
        "Essential": true,
        "PortMappings": ports,
        "Environment": environment,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": {"Ref": cat(&[&id, "LogGroup"])},
                "awslogs-region": {"Ref": "AWS::Region"},
                "awslogs-stream-prefix": &w.name,
            }
        },
    });
    if !secrets.is_empty() {
        container["Secrets"] = json!(secrets);
    }
    if let Some(command) = &w.command {
        container["Command"] = json!(command.iter().map(|c| t.text(c)).collect::<Vec<_>>());
    }
    if let Some(entrypoint) = &w.entrypoint {
        container["EntryPoint"] = json!(entrypoint.iter().map(|c| t.text(c)).collect::<Vec<_>>());
    }
    if let Some(user) = &w.user {
        container["User"] = json!(user);
    }
    if let Some(dir) = &w.working_dir {
        container["WorkingDirectory"] = json!(dir);
    }
    if let Some(cpu) = w.reservations.cpu {
        container["Cpu"] = json!((cpu * 1024.0).round() as u64);
    }
    if let Some(mib) = w.reservations.memory_mib {
        container["MemoryReservation"] = json!(mib);
    }
    let linux = &w.linux;
    if !linux.cap_add.is_empty() || !linux.cap_drop.is_empty() {
        container["LinuxParameters"] =
            json!({"Capabilities": {"Add": &linux.cap_add, "Drop": &linux.cap_drop}});
    }
    if !linux.ulimits.is_empty() {
        container["Ulimits"] = json!(
            linux
                .ulimits
                .iter()
                .map(|(name, (soft, hard))| json!({"Name": name, "SoftLimit": soft, "HardLimit": hard}))
                .collect::<Vec<_>>()
        );
    }
    if !linux.sysctls.is_empty() {
        container["SystemControls"] = json!(
            linux
                .sysctls
                .iter()
                .map(|(name, value)| json!({"Namespace": name, "Value": value}))
                .collect::<Vec<_>>()
        );
    }
    if let Some(h) = &w.health {
        container["HealthCheck"] = health_check(t, h);
    }
    let (cpu, memory) = w.fargate.unwrap_or((256, 512));
    let role = task_role(t, w);
    let tags = t.tags();
    t.add(
        cat(&[&id, "TaskDefinition"]),
        json!({
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": physical(t, &w.name),
                "RequiresCompatibilities": ["FARGATE"],
                "RuntimePlatform": {"CpuArchitecture": runtime_platform(&t.plan.publish.platform), "OperatingSystemFamily": "LINUX"},
                "NetworkMode": "awsvpc",
                "Cpu": cpu.to_string(),
                "Memory": memory.to_string(),
                "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                "TaskRoleArn": role,
                "ContainerDefinitions": [container],
                "Tags": tags,
            },
            "Metadata": skips(&[("CKV_AWS_336", "containers may write to their root filesystem (temporary files); they run as a non-root user")]),
        }),
    );
    if w.is_job() {
        // Run during the deployment by `jobs.rs`.
        return;
    }
    let tags = t.tags();
    t.add(
        cat(&[&id, "Discovery"]),
        json!({
            "Type": "AWS::ServiceDiscovery::Service",
            "Properties": {
                "Name": &w.name,
                "NamespaceId": {"Fn::GetAtt": ["Namespace", "Id"]},
                "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 10}], "RoutingPolicy": "MULTIVALUE"},
                "HealthCheckCustomConfig": {"FailureThreshold": 1},
                "Tags": tags,
            }
        }),
    );
    let subnets = t.private_subnets();
    let mut service = json!({
        "Type": "AWS::ECS::Service",
        "Properties": {
            "Cluster": match &t.plan.instance.shared.cluster {
                Some(name) => json!(name),
                None => json!({"Ref": "Cluster"}),
            },
            "TaskDefinition": {"Ref": cat(&[&id, "TaskDefinition"])},
            "DesiredCount": w.replicas,
            "LaunchType": "FARGATE",
            "PropagateTags": "SERVICE",
            "EnableECSManagedTags": true,
            "DeploymentConfiguration": {
                "MinimumHealthyPercent": 100,
                "MaximumPercent": 200,
                "DeploymentCircuitBreaker": {"Enable": true, "Rollback": true},
            },
            "NetworkConfiguration": {"AwsvpcConfiguration": {
                "AssignPublicIp": "DISABLED",
                "Subnets": subnets,
                "SecurityGroups": [{"Fn::GetAtt": [cat(&[&id, "SecurityGroup"]), "GroupId"]}],
            }},
            "ServiceRegistries": [{"RegistryArn": {"Fn::GetAtt": [cat(&[&id, "Discovery"]), "Arn"]}}],
            "Tags": t.tags(),
        }
    });
    let mut balancers = Vec::new();
    let mut depends = Vec::new();
    for &(lb, route) in t.routes.get(w.name.as_str()).into_iter().flatten() {
        let tg = super::alb::target_group_id(lb, route);
        balancers.push(json!({"ContainerName": &w.name, "ContainerPort": route.port, "TargetGroupArn": {"Ref": tg}}));
        depends.push(json!(super::alb::rule_id(lb, route)));
    }
    if !balancers.is_empty() {
        service["Properties"]["LoadBalancers"] = json!(balancers);
        service["Properties"]["HealthCheckGracePeriodSeconds"] = json!(60);
        service["DependsOn"] = json!(depends);
    }
    t.add(cat(&[&id, "Service"]), service);
}
