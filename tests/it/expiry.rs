//! The self-delete of ephemeral CloudFormation stacks: CloudFormation deletes
//! the stack with a role that outlives it and may touch only what the stack
//! created; buckets are emptied before their deletion; a failed deletion is
//! reported; persistent stacks have none of it.

use crate::{build_examples, temp_dir, template};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Writes that AWS lets no policy scope (no resource type, no condition key in
/// the Service Authorization Reference); each one is explained where the
/// template grants it (src/emit/cloudformation/expiry.rs, `UNSCOPABLE`).
const UNSCOPABLE: &[&str] = &["ecs:DeregisterTaskDefinition"];

/// For each resource type CloudFormation may have to delete, the action its
/// delete handler cannot do without.
const DELETE_ACTION: &[(&str, &str)] = &[
    ("AWS::ECS::Cluster", "ecs:DeleteCluster"),
    ("AWS::ECS::Service", "ecs:DeleteService"),
    ("AWS::ECS::TaskDefinition", "ecs:DeregisterTaskDefinition"),
    ("AWS::Logs::LogGroup", "logs:DeleteLogGroup"),
    ("AWS::IAM::Role", "iam:DeleteRole"),
    ("AWS::EC2::SecurityGroup", "ec2:DeleteSecurityGroup"),
    (
        "AWS::EC2::SecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
    ),
    (
        "AWS::ServiceDiscovery::PrivateDnsNamespace",
        "servicediscovery:DeleteNamespace",
    ),
    (
        "AWS::ServiceDiscovery::Service",
        "servicediscovery:DeleteService",
    ),
    ("AWS::RDS::DBInstance", "rds:DeleteDBInstance"),
    ("AWS::RDS::DBSubnetGroup", "rds:DeleteDBSubnetGroup"),
    (
        "AWS::ElastiCache::ReplicationGroup",
        "elasticache:DeleteReplicationGroup",
    ),
    (
        "AWS::ElastiCache::SubnetGroup",
        "elasticache:DeleteCacheSubnetGroup",
    ),
    ("AWS::OpenSearchService::Domain", "es:DeleteDomain"),
    ("AWS::AmazonMQ::Broker", "mq:DeleteBroker"),
    ("AWS::S3::Bucket", "s3:DeleteBucket"),
    (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "elasticloadbalancing:DeleteLoadBalancer",
    ),
    (
        "AWS::ElasticLoadBalancingV2::Listener",
        "elasticloadbalancing:DeleteListener",
    ),
    (
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        "elasticloadbalancing:DeleteRule",
    ),
    (
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "elasticloadbalancing:DeleteTargetGroup",
    ),
    (
        "AWS::CertificateManager::Certificate",
        "acm:DeleteCertificate",
    ),
    (
        "AWS::Route53::RecordSet",
        "route53:ChangeResourceRecordSets",
    ),
    ("AWS::CloudFormation::Stack", "cloudformation:DeleteStack"),
    ("AWS::Scheduler::Schedule", "scheduler:DeleteSchedule"),
    ("AWS::Lambda::Function", "lambda:DeleteFunction"),
    ("Custom::EmptyBucket", "lambda:InvokeFunction"),
    ("Custom::ExpiryClock", "lambda:InvokeFunction"),
    ("Custom::RunJob", "lambda:InvokeFunction"),
    ("AWS::EC2::VPC", "ec2:DeleteVpc"),
    ("AWS::EC2::Subnet", "ec2:DeleteSubnet"),
    ("AWS::EC2::InternetGateway", "ec2:DeleteInternetGateway"),
    (
        "AWS::EC2::VPCGatewayAttachment",
        "ec2:DetachInternetGateway",
    ),
    ("AWS::EC2::RouteTable", "ec2:DeleteRouteTable"),
    ("AWS::EC2::Route", "ec2:DeleteRoute"),
    (
        "AWS::EC2::SubnetRouteTableAssociation",
        "ec2:DisassociateRouteTable",
    ),
    ("AWS::EC2::NatGateway", "ec2:DeleteNatGateway"),
    ("AWS::EC2::EIP", "ec2:ReleaseAddress"),
    ("AWS::SQS::Queue", "sqs:DeleteQueue"),
    ("AWS::CloudWatch::Alarm", "cloudwatch:DeleteAlarms"),
];

/// A landscape with two buckets (one versioned) and a service that writes to one.
const BUCKETS: &str = r#"import "bucket"

landscape tiles {
  bucket tiles {
    password = secret("tiles/minio")
  }
  bucket scratch {
    password = secret("tiles/scratch")
    versioning = false
  }
  service api {
    image = "ghcr.io/tiles/api:1.0.0"
    ports { http = 8080 }
    env {
      S3 = "http://${tiles.host}:${tiles.ports.s3}"
    }
  }
}

environment production {}

environment story {
  param id: string
  ttl = 14h
  purpose = "user test for story ${id}"
}
"#;

/// Builds `env` of the `.bom` file `source` into `out`; returns its folder.
fn build(source: &Path, env: &str, sets: &[&str], out: &Path) -> PathBuf {
    crate::build_instance(source, env, sets, &["--target", "cloudformation"], out)
}

fn tiles(env: &str, sets: &[&str], name: &str) -> PathBuf {
    let work = temp_dir(name);
    let source = work.join("tiles.bom");
    std::fs::write(&source, BUCKETS).expect("write");
    build(&source, env, sets, &work.join("out"))
}

fn resources(t: &Value) -> Vec<(&String, &Value)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .collect()
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

fn ephemeral(t: &Value) -> bool {
    t["Metadata"]["bomc"]["lifetime"] == "ephemeral"
}

/// The statements of a role's inline policies.
fn statements(role: &Value) -> Vec<Value> {
    role["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// Describe, List and Get only read; everything else changes something.
fn changes_something(action: &str) -> bool {
    let verb = action.split(':').nth(1).unwrap_or(action);
    !["Describe", "List", "Get"]
        .iter()
        .any(|read| verb.starts_with(read))
}

fn on_everything(statement: &Value) -> bool {
    match &statement["Resource"] {
        Value::String(r) => r == "*",
        Value::Array(a) => a.iter().any(|r| r == "*"),
        _ => false,
    }
}

/// Every statement of every role of the template that changes something on
/// `*` has a condition (but for the writes AWS cannot scope at all), and no
/// action is a wildcard.
fn assert_least_privilege(t: &Value, what: &str) {
    for (id, role) in of_type(t, "AWS::IAM::Role") {
        for s in statements(role) {
            for action in actions(&s) {
                assert!(!action.contains('*'), "{what}: {id} grants {action}");
                if on_everything(&s) && changes_something(&action) {
                    assert!(
                        s.get("Condition").is_some() || UNSCOPABLE.contains(&action.as_str()),
                        "{what}: {id} grants {action} on * without a condition: {s}"
                    );
                }
            }
        }
    }
}

/// All actions of a role, and whether each is granted only under a condition.
fn granted(role: &Value) -> Vec<(String, Value)> {
    statements(role)
        .iter()
        .flat_map(|s| actions(s).into_iter().map(move |a| (a, s.clone())))
        .collect()
}

/// The delete role: retained, assumed by CloudFormation only, findable.
fn assert_delete_role(t: &Value, what: &str) -> Value {
    let role = &t["Resources"]["ExpiryDeleteRole"];
    assert_eq!(role["Type"], "AWS::IAM::Role", "{what}");
    assert_eq!(
        role["DeletionPolicy"], "Retain",
        "{what}: the delete role must outlive the stack"
    );
    assert_eq!(role["UpdateReplacePolicy"], "Retain", "{what}");
    assert_eq!(role["Properties"]["Path"], "/bomc-expiry/", "{what}");
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({"Service": "cloudformation.amazonaws.com"}),
        "{what}"
    );
    assert!(
        role["Properties"]["Tags"]
            .to_string()
            .contains("bomc:instance"),
        "{what}: the retained role carries the environment's tags"
    );
    // The schedule asks CloudFormation to delete the stack with that role.
    let schedule = &t["Resources"]["ExpirySchedule"]["Properties"];
    let input = schedule["Target"]["Input"]["Fn::Sub"]
        .as_str()
        .unwrap_or("");
    assert!(
        input.contains("\"RoleARN\": \"${ExpiryDeleteRole.Arn}\"")
            && input.contains("\"StackName\": \"${AWS::StackId}\""),
        "{what}: {input}"
    );
    role.clone()
}

/// The delete role can delete every type of resource the stack holds but the
/// retained ones, and the schedule (read first, with scheduler:GetSchedule).
fn assert_covers_every_type(t: &Value, role: &Value, what: &str) {
    let granted: Vec<String> = granted(role).into_iter().map(|(a, _)| a).collect();
    for (id, r) in resources(t) {
        if r["DeletionPolicy"] == "Retain" {
            continue;
        }
        let ty = r["Type"].as_str().unwrap_or("");
        let needed = DELETE_ACTION
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("{what}: {id}: no expected delete action for {ty}"));
        assert!(
            granted.iter().any(|a| a == needed),
            "{what}: {id} ({ty}) needs {needed}"
        );
    }
    assert!(
        granted.iter().any(|a| a == "scheduler:GetSchedule"),
        "{what}"
    );
}

/// Failed invocations go to a dead-letter queue watched by an alarm; a
/// DELETE_FAILED of this stack is published by a rule that survives it.
fn assert_failures_are_reported(t: &Value, what: &str) {
    let schedule = &t["Resources"]["ExpirySchedule"]["Properties"];
    assert_eq!(
        schedule["Target"]["DeadLetterConfig"]["Arn"],
        json!({"Fn::GetAtt": ["ExpiryDeadLetterQueue", "Arn"]}),
        "{what}"
    );
    let alarm = &t["Resources"]["ExpiryDeadLetterAlarm"];
    assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm", "{what}");
    assert_eq!(
        alarm["Properties"]["Dimensions"][0]["Value"],
        json!({"Fn::GetAtt": ["ExpiryDeadLetterQueue", "QueueName"]}),
        "{what}"
    );
    assert!(
        alarm["Properties"]["AlarmActions"]
            .to_string()
            .contains("ExpiryAlertTopic"),
        "{what}"
    );
    let rule = &t["Resources"]["ExpiryDeleteFailedRule"];
    assert_eq!(rule["Type"], "AWS::Events::Rule", "{what}");
    assert_eq!(
        rule["DeletionPolicy"], "Retain",
        "{what}: the rule must outlive the deletion it reports on"
    );
    let pattern = &rule["Properties"]["EventPattern"];
    assert_eq!(
        pattern["detail-type"],
        json!(["CloudFormation Stack Status Change"])
    );
    assert_eq!(
        pattern["detail"]["stack-id"],
        json!([{"Ref": "AWS::StackId"}])
    );
    assert_eq!(
        pattern["detail"]["status-details"]["status"],
        json!(["DELETE_FAILED"])
    );
    assert!(
        rule["Properties"]["Targets"][0]["Arn"]
            .to_string()
            .contains("ExpiryAlertTopic"),
        "{what}"
    );
    assert!(t["Parameters"].get("ExpiryAlertTopic").is_some(), "{what}");
}

#[test]
fn ephemeral_examples_delete_themselves_with_a_retained_role_scoped_to_the_stack() {
    let out = temp_dir("expiry-examples");
    let mut checked = 0;
    for (example, env, dir) in build_examples("cloudformation", &out) {
        let t = template(&dir);
        if !ephemeral(&t) {
            continue;
        }
        checked += 1;
        let what = format!("{example}/{env}");
        let role = assert_delete_role(&t, &what);
        assert_least_privilege(&t, &what);
        assert_covers_every_type(&t, &role, &what);
        assert_failures_are_reported(&t, &what);
        // The schedule's own role may only start this deletion, with that role.
        let schedule_role = &t["Resources"]["ExpiryScheduleRole"];
        for (action, s) in granted(schedule_role) {
            match action.as_str() {
                "cloudformation:DeleteStack" => {
                    assert_eq!(s["Resource"], json!({"Ref": "AWS::StackId"}), "{what}");
                    assert_eq!(
                        s["Condition"]["StringEquals"]["cloudformation:RoleArn"],
                        json!({"Fn::GetAtt": ["ExpiryDeleteRole", "Arn"]}),
                        "{what}"
                    );
                }
                "iam:PassRole" => assert_eq!(
                    s["Resource"],
                    json!({"Fn::GetAtt": ["ExpiryDeleteRole", "Arn"]}),
                    "{what}"
                ),
                "sqs:SendMessage" => {}
                other => panic!("{what}: the schedule's role also grants {other}"),
            }
        }
        // A landscape with load balancers and DNS names: records may only be
        // deleted, and only this environment's.
        if let Some(s) = granted(&role)
            .into_iter()
            .find(|(a, _)| a == "route53:ChangeResourceRecordSets")
            .map(|(_, s)| s)
        {
            let only = &s["Condition"]["ForAllValues:StringEquals"];
            assert_eq!(
                only["route53:ChangeResourceRecordSetsActions"],
                json!(["DELETE"]),
                "{what}"
            );
            let names = only["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (_, record) in of_type(&t, "AWS::Route53::RecordSet") {
                assert!(
                    names.contains(&record["Properties"]["Name"]),
                    "{what}: {names:?}"
                );
            }
        }
    }
    assert!(checked >= 6, "only {checked} ephemeral environments");
}

#[test]
fn every_bucket_of_an_ephemeral_stack_is_emptied_before_its_deletion() {
    let dir = tiles("story", &["--set", "id=US-217"], "expiry-buckets");
    let t = template(&dir);
    let buckets = of_type(&t, "AWS::S3::Bucket");
    assert_eq!(buckets.len(), 2);
    for (bucket, definition) in &buckets {
        assert_eq!(definition["DeletionPolicy"], "Delete");
        let emptiers: Vec<(&String, &Value)> = of_type(&t, "Custom::EmptyBucket")
            .into_iter()
            .filter(|(_, e)| e["Properties"]["BucketName"] == json!({"Ref": bucket}))
            .collect();
        assert_eq!(
            emptiers.len(),
            1,
            "{bucket}: one emptier, which depends on the bucket"
        );
        let (emptier, e) = emptiers[0];
        // The bucket must not wait for its emptier (it would then be deleted first).
        assert!(
            !definition.to_string().contains(emptier.as_str()),
            "{bucket}"
        );
        // The function empties versions and delete markers, on Delete, with a pinned runtime.
        let function_id = e["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
            .as_str()
            .expect("a function in the template");
        let function = &t["Resources"][function_id]["Properties"];
        assert_eq!(function["Runtime"], "python3.12");
        let code = function["Code"]["ZipFile"].as_str().expect("inline code");
        for needed in [
            "\"Delete\"",
            "list_object_versions",
            "DeleteMarkers",
            "VersionId",
            "delete_objects",
        ] {
            assert!(code.contains(needed), "{needed}");
        }
        // Its role may touch that bucket (and its own logs), nothing else.
        let role_id = function["Role"]["Fn::GetAtt"][0].as_str().expect("role");
        for s in statements(&t["Resources"][role_id]) {
            let resource = s["Resource"].to_string();
            for action in actions(&s) {
                if action.starts_with("s3:") {
                    assert!(
                        resource.contains(&format!("\"{bucket}\"")),
                        "{role_id}: {s}"
                    );
                } else {
                    assert!(
                        action.starts_with("logs:") && !on_everything(&s),
                        "{role_id}: {s}"
                    );
                }
            }
        }
    }
    // The service that writes to `tiles` is gone before the bucket is emptied.
    for id in ["ApiTaskDefinition", "ApiService"] {
        assert!(
            t["Resources"][id]["DependsOn"]
                .as_array()
                .is_some_and(|d| d.contains(&json!("TilesBucketEmptier"))),
            "{id}"
        );
    }
    // And the delete role may delete exactly these buckets.
    let role = assert_delete_role(&t, "tiles/story");
    let s = granted(&role)
        .into_iter()
        .find(|(a, _)| a == "s3:DeleteBucket")
        .map(|(_, s)| s)
        .expect("s3:DeleteBucket");
    assert_eq!(
        s["Resource"],
        json!([{"Fn::GetAtt": ["ScratchBucket", "Arn"]}, {"Fn::GetAtt": ["TilesBucket", "Arn"]}])
    );
    assert!(actions(&s).contains(&String::from("s3:ListBucket")));
    assert_least_privilege(&t, "tiles/story");
    assert_covers_every_type(&t, &role, "tiles/story");
    assert_failures_are_reported(&t, "tiles/story");

    // cfn-lint: no error or warning; checkov: nothing fails on what the self-delete adds.
    let file = dir.join("cloudformation.json");
    crate::assert_cfn_lint_clean(&file);
    let (_, report) = crate::checkov_cloudformation(&file, &dir);
    for line in report.lines().filter(|l| l.contains("FAILED for resource")) {
        assert!(
            !line.contains("Expiry") && !line.contains("Emptier"),
            "checkov:\n{report}"
        );
    }
}

/// `services` services and a bucket, in an ephemeral environment: over the
/// quotas, so split into nested stacks.
fn large_ephemeral_landscape(services: usize) -> String {
    use std::fmt::Write as _;
    let mut text = String::from("import \"bucket\"\n\nlandscape big {\n");
    text.push_str("  bucket assets {\n    password = secret(\"big/assets\")\n  }\n");
    for s in 0..services {
        let _ = writeln!(
            text,
            "  service svc{s} {{\n    image = \"ghcr.io/big/svc:1.0.{s}\"\n    ports {{ http = 8080 }}\n  }}"
        );
    }
    text.push_str("}\n\nenvironment story {\n  param id: string\n  ttl = 14h\n}\n");
    text
}

#[test]
fn a_split_ephemeral_stack_may_delete_its_nested_stacks() {
    let work = temp_dir("expiry-split");
    let source = work.join("big.bom");
    std::fs::write(&source, large_ephemeral_landscape(120)).expect("write");
    let dir = build(&source, "story", &["--set", "id=US-217"], &work.join("out"));
    let root_t = template(&dir);
    let stacks = of_type(&root_t, "AWS::CloudFormation::Stack");
    assert!(stacks.len() >= 2, "{} nested stacks", stacks.len());
    let role = assert_delete_role(&root_t, "big/story");
    assert_least_privilege(&root_t, "big/story");
    assert_covers_every_type(&root_t, &role, "big/story");
    assert_failures_are_reported(&root_t, "big/story");
    // CloudFormation deletes the nested stacks (`<stack>-Stack01-…`) with the same role.
    let s = granted(&role)
        .into_iter()
        .find(|(a, _)| a == "cloudformation:DeleteStack")
        .map(|(_, s)| s)
        .expect("cloudformation:DeleteStack");
    assert!(
        s["Resource"]
            .to_string()
            .contains("stack/${AWS::StackName}-Stack*/*"),
        "{s}"
    );
    assert!(actions(&s).contains(&String::from("cloudformation:DescribeStacks")));
    // ... and every resource in them.
    let mut files = vec![dir.join("cloudformation.json")];
    let mut emptied = 0;
    for entry in std::fs::read_dir(dir.join("cloudformation")).expect("nested templates") {
        let path = entry.expect("entry").path();
        let nested: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        assert_least_privilege(&nested, &path.display().to_string());
        assert_covers_every_type(&nested, &role, &path.display().to_string());
        // A bucket's emptier is in the bucket's stack, depending on it.
        for (bucket, _) in of_type(&nested, "AWS::S3::Bucket") {
            assert!(
                of_type(&nested, "Custom::EmptyBucket")
                    .iter()
                    .any(|(_, e)| e["Properties"]["BucketName"] == json!({"Ref": bucket})),
                "{}: {bucket}",
                path.display()
            );
            emptied += 1;
        }
        files.push(path);
    }
    assert_eq!(emptied, 1);
    crate::assert_cfn_lint_clean_all(&files);
}

#[test]
fn persistent_stacks_have_none_of_this() {
    let out = temp_dir("expiry-persistent");
    let mut built: Vec<(String, Value)> = build_examples("cloudformation", &out)
        .into_iter()
        .map(|(example, env, dir)| (format!("{example}/{env}"), template(&dir)))
        .filter(|(_, t)| !ephemeral(t))
        .collect();
    built.push((
        String::from("tiles/production"),
        template(&tiles("production", &[], "expiry-persistent-tiles")),
    ));
    assert!(built.len() >= 7, "{} persistent environments", built.len());
    for (what, t) in &built {
        for ty in [
            "AWS::Scheduler::Schedule",
            "Custom::EmptyBucket",
            "Custom::ExpiryClock",
            "AWS::Events::Rule",
            "AWS::SQS::Queue",
            "AWS::CloudWatch::Alarm",
        ] {
            assert!(of_type(t, ty).is_empty(), "{what} has a {ty}");
        }
        // The only functions of a persistent stack run its jobs (tests/it/deploy.rs).
        for (id, _) in of_type(t, "AWS::Lambda::Function") {
            assert!(id.ends_with("RunFunction"), "{what} has {id}");
        }
        assert!(t["Parameters"].get("TtlSeconds").is_none(), "{what}");
        for (id, r) in resources(t) {
            assert!(!id.starts_with("Expiry"), "{what} has {id}");
            if r["Type"] == "AWS::S3::Bucket" {
                assert_eq!(r["DeletionPolicy"], "Retain", "{what}: {id}");
            }
        }
        assert!(t["Parameters"].get("ExpiryAlertTopic").is_none(), "{what}");
    }
}
