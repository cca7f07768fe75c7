//! ECS on Fargate: the cluster, a private DNS namespace for service discovery,
//! and for each container component a log group, a task definition and —
//! unless it is a one-off job — a service with rolling, start-first
//! deployments gated on health checks and rolled back by the circuit breaker.

use super::{Template, physical, skips};
use crate::model::{Component, Value};
use serde_json::{Value as Json, json};

pub(crate) fn cluster(t: &mut Template) {
    let tags = t.tags();
    if t.shared("cluster").is_none() {
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
                "Description": "Role of the running containers: no AWS permissions unless a landscape adds them",
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

/// The role ECS uses to pull images, write logs and read exactly the secrets
/// the tasks reference.
pub(crate) fn execution_role(t: &mut Template) {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}
    })];
    if !t.secrets.is_empty() {
        let resources: Vec<Json> = t
            .secrets
            .iter()
            .map(|s| json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{s}-*")}))
            .collect();
        statements.push(json!({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": resources}));
    }
    let tags = t.tags();
    t.add(
        String::from("ExecutionRole"),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Lets ECS pull images, write logs and read the secrets the tasks reference",
                "AssumeRolePolicyDocument": assume_ecs_tasks(),
                "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}],
                "Policies": [{"PolicyName": "logs-and-secrets", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
                "Tags": tags,
            }
        }),
    );
}

/// Fargate CPU units and memory (MiB) of a valid combination, at least what
/// the component asks for.
fn fargate_size(c: &Component) -> (u32, u32) {
    let cpu = match c.settings.get("cpu") {
        Some(Value::Float(f)) => *f,
        _ => 0.25,
    };
    let memory = match c.settings.get("memory") {
        Some(Value::Size(b)) => (*b / (1 << 20)) as u32,
        _ => 512,
    };
    let want_cpu = (cpu * 1024.0).ceil() as u32;
    const SIZES: [(u32, u32, u32, u32); 7] = [
        (256, 512, 2048, 512),
        (512, 1024, 4096, 1024),
        (1024, 2048, 8192, 1024),
        (2048, 4096, 16384, 1024),
        (4096, 8192, 30720, 1024),
        (8192, 16384, 61440, 4096),
        (16384, 32768, 122880, 8192),
    ];
    for (units, min, max, step) in SIZES {
        if units < want_cpu || memory > max {
            continue;
        }
        let mut m = min;
        while m < memory {
            m += step;
        }
        if units == 256 && m == 1536 {
            m = 2048;
        }
        return (units, m.min(max));
    }
    (16384, 122880)
}

fn probe(c: &Component, t: &Template) -> Option<Json> {
    let Some(Value::Map(health)) = c.settings.get("health") else {
        return None;
    };
    let command: Vec<Json> = match health.get("command") {
        Some(Value::List(items)) => {
            let mut cmd = vec![Json::String(String::from("CMD"))];
            for item in items {
                cmd.push(t.text(item)?);
            }
            cmd
        }
        _ => {
            let path = health.get("path").and_then(Value::as_str).unwrap_or("/");
            let ports = c.ports();
            let port = health
                .get("port")
                .and_then(Value::as_str)
                .and_then(|p| ports.get(p).copied())
                .or_else(|| ports.values().next().copied())?;
            let url = format!("http://127.0.0.1:{port}{path}");
            if c.settings.contains_key("build") {
                // Images bomc builds carry a probe binary (see the Dockerfile templates).
                return Some(health_check(
                    vec![
                        json!("CMD"),
                        json!("/usr/local/bin/bomc-healthcheck"),
                        json!(url),
                    ],
                    health,
                ));
            }
            vec![
                json!("CMD-SHELL"),
                json!(format!(
                    "wget -q -O /dev/null '{}' || exit 1",
                    url.replace('\'', "'\\''")
                )),
            ]
        }
    };
    Some(health_check(command, health))
}

fn health_check(command: Vec<Json>, health: &std::collections::BTreeMap<String, Value>) -> Json {
    let secs = |key: &str, default: u64, min: u64, max: u64| {
        crate::lower::seconds(health.get(key))
            .unwrap_or(default)
            .clamp(min, max)
    };
    let count = |key: &str, default: i64| {
        health
            .get(key)
            .and_then(Value::as_int)
            .unwrap_or(default)
            .clamp(1, 10)
    };
    json!({
        "Command": command,
        "Interval": secs("interval", 30, 5, 300),
        "Timeout": secs("timeout", 5, 2, 60),
        "Retries": count("unhealthy", 3),
        "StartPeriod": secs("start_period", 0, 0, 300),
    })
}

/// Log group, task definition and (for long-running components) service.
pub(crate) fn workload(t: &mut Template, c: &Component) {
    let id = t.id(&c.name);
    let retention = if t.ephemeral() { 7 } else { 90 };
    let tags = t.tags();
    t.add(
        format!("{id}LogGroup"),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"RetentionInDays": retention, "Tags": tags},
            "Metadata": skips(&[("CKV_AWS_158", "logs are encrypted at rest with the CloudWatch Logs service key; a customer key adds cost without a requirement")]),
        }),
    );
    let image = match (c.settings.get("image"), c.settings.get("build")) {
        (Some(Value::String(image)), _) => Json::String(image.clone()),
        (_, Some(Value::Image(name))) => {
            let registry = t.parameter(
                "ImageRegistry",
                json!({"Type": "String", "Description": "Registry (e.g. an ECR repository URI prefix) holding the images bomc's Dockerfiles build", "AllowedPattern": "^[a-z0-9][a-z0-9./:-]*$"}),
            );
            json!({"Fn::Join": ["", [registry, format!("/{}-{name}:{}", t.ctx.project(), t.ctx.instance)]]})
        }
        _ => Json::String(String::new()),
    };
    let mut environment = Vec::new();
    let mut secrets = Vec::new();
    if let Some(Value::Map(env)) = c.settings.get("env") {
        for (name, value) in env {
            match value {
                Value::Secret(secret) => {
                    t.secrets.insert(secret.clone());
                    secrets.push(json!({"Name": name, "ValueFrom": {"Fn::Sub": format!("arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{secret}")}}));
                }
                other => {
                    if let Some(v) = t.text(other) {
                        environment.push(json!({"Name": name, "Value": v}));
                    }
                }
            }
        }
    }
    let ports: Vec<Json> = c
        .ports()
        .values()
        .map(|p| json!({"ContainerPort": p, "Protocol": "tcp"}))
        .collect();
    let mut container = json!({
        "Name": c.name,
        "Image": image,
        "Essential": true,
        "PortMappings": ports,
        "Environment": environment,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": {"Ref": format!("{id}LogGroup")},
                "awslogs-region": {"Ref": "AWS::Region"},
                "awslogs-stream-prefix": c.name,
            }
        },
    });
    if !secrets.is_empty() {
        container["Secrets"] = json!(secrets);
    }
    if let Some(Value::List(items)) = c.settings.get("command") {
        let cmd: Option<Vec<Json>> = items.iter().map(|i| t.text(i)).collect();
        if let Some(cmd) = cmd {
            container["Command"] = json!(cmd);
        }
    }
    if let Some(probe) = probe(c, t) {
        if let Some(Value::Map(h)) = c.settings.get("health")
            && crate::lower::seconds(h.get("interval")).is_some_and(|s| s < 5)
        {
            t.notes.push(format!(
                "{}: health check interval raised to 5s, the ECS minimum",
                c.name
            ));
        }
        container["HealthCheck"] = probe;
    }
    let (cpu, memory) = fargate_size(c);
    let tags = t.tags();
    t.add(
        format!("{id}TaskDefinition"),
        json!({
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": physical(t, &c.name),
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": cpu.to_string(),
                "Memory": memory.to_string(),
                "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                "TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},
                "ContainerDefinitions": [container],
                "Tags": tags,
            },
            "Metadata": skips(&[("CKV_AWS_336", "containers may write to their root filesystem (temporary files); they run as a non-root user")]),
        }),
    );
    let job = c.settings.get("run").and_then(Value::as_str) == Some("once");
    if job {
        t.outputs.insert(
            format!("{id}TaskDefinition"),
            json!({"Description": format!("Run `{}` once (e.g. aws ecs run-task) before rolling out", c.name), "Value": {"Ref": format!("{id}TaskDefinition")}}),
        );
        return;
    }
    let tags = t.tags();
    t.add(
        format!("{id}Discovery"),
        json!({
            "Type": "AWS::ServiceDiscovery::Service",
            "Properties": {
                "Name": c.name,
                "NamespaceId": {"Fn::GetAtt": ["Namespace", "Id"]},
                "DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 10}], "RoutingPolicy": "MULTIVALUE"},
                "HealthCheckCustomConfig": {"FailureThreshold": 1},
                "Tags": tags,
            }
        }),
    );
    let subnets = t.private_subnets();
    let replicas = c
        .settings
        .get("replicas")
        .and_then(Value::as_int)
        .unwrap_or(1);
    let mut service = json!({
        "Type": "AWS::ECS::Service",
        "Properties": {
            "Cluster": match t.shared("cluster") {
                Some(name) => json!(name),
                None => json!({"Ref": "Cluster"}),
            },
            "TaskDefinition": {"Ref": format!("{id}TaskDefinition")},
            "DesiredCount": replicas,
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
                "SecurityGroups": [{"Fn::GetAtt": [format!("{id}SecurityGroup"), "GroupId"]}],
            }},
            "ServiceRegistries": [{"RegistryArn": {"Fn::GetAtt": [format!("{id}Discovery"), "Arn"]}}],
            "Tags": t.tags(),
        }
    });
    let targets: Vec<(String, String, u16)> = t
        .ctx
        .landscape
        .components
        .iter()
        .filter_map(|lb| match lb.params.get("routes") {
            Some(Value::Map(routes)) => Some((lb, routes)),
            _ => None,
        })
        .flat_map(|(lb, routes)| {
            routes.iter().filter_map(move |(path, v)| match v {
                Value::Port(p) if p.component == c.name => {
                    Some((lb.name.clone(), path.clone(), p.number))
                }
                _ => None,
            })
        })
        .collect();
    if !targets.is_empty() {
        let mut balancers = Vec::new();
        let mut depends = Vec::new();
        for (lb, path, port) in &targets {
            let tg = super::alb::target_group_id(t, lb, path);
            balancers.push(json!({"ContainerName": c.name, "ContainerPort": port, "TargetGroupArn": {"Ref": tg}}));
            depends.push(json!(super::alb::rule_id(t, lb, path)));
        }
        service["Properties"]["LoadBalancers"] = json!(balancers);
        service["Properties"]["HealthCheckGracePeriodSeconds"] = json!(60);
        service["DependsOn"] = json!(depends);
    }
    t.add(format!("{id}Service"), service);
}
