//! Time to live: an ephemeral environment's stack deletes itself when it
//! expires, and says so when it cannot.
//!
//! **Who deletes.** An EventBridge Scheduler one-time schedule calls
//! CloudFormation `DeleteStack` (universal target
//! `arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack`) with the stack's
//! id and a `RoleARN`. CloudFormation then deletes every resource with that
//! role's credentials — not the caller's ("If you specify a service role,
//! CloudFormation uses that role's credentials"; without one it uses "a
//! temporary session generated from your user credentials": DeleteStack API
//! reference and the *CloudFormation service role* page of the user guide).
//! That role, `ExpiryDeleteRole`, is a resource of the stack it deletes, so it
//! has `DeletionPolicy: Retain`: CloudFormation skips it and it outlives the
//! deletion (before, the schedule's own role did the deleting and was deleted
//! half-way, leaving the stack in `DELETE_FAILED`). One small role per expired
//! environment stays behind, under the IAM path `/bomc-expiry/` and with the
//! environment's `bomc:*` tags (`aws iam list-roles --path-prefix
//! /bomc-expiry/`); only CloudFormation may assume it, only someone allowed to
//! pass it can make it do so, and it may touch nothing but what this stack
//! created, so it is safe to keep and safe to delete once the stack is gone.
//! The schedule itself runs as `ExpiryScheduleRole`, which may only call
//! `DeleteStack` on this stack with exactly that role (`cloudformation:RoleArn`)
//! and write to the dead-letter queue; it is deleted with the stack, after it
//! has done its one call. The schedule stays after it fires (Scheduler's
//! `ActionAfterCompletion` defaults to `NONE`, and CloudFormation's
//! `AWS::Scheduler::Schedule` does not offer it): CloudFormation deletes it
//! with the stack, where a schedule that deleted itself would race that
//! deletion.
//!
//! **When.** The stack lives exactly its TTL from the moment it is created,
//! whenever that is: the TTL is the template parameter `TtlSeconds` (default:
//! the environment's `ttl`), and the expiry time is computed at deploy time by
//! `ExpiryClock`, a Lambda-backed custom resource (`Custom::ExpiryClock`):
//! on `Create` it answers `At = now + TtlSeconds`, which the schedule reads
//! (`at(${ExpiryClock.At})`). On `Update` it answers the same time, counted
//! from the same start (kept in its physical id, `bomc-expiry-<start>`), so an
//! update does not extend the environment — unless asked: a new value of the
//! parameter `ExpiryRenewal` restarts the count from that update, and a new
//! `TtlSeconds` moves the expiry to start + the new TTL. An expiry that would
//! fall in the past (a TTL shortened below the age of the stack) is five
//! minutes after the update instead, since a one-time schedule must lie in the
//! future. The template holds no build time at all, so `--now` changes nothing
//! in it (it still sets the compose labels and the manifest). Its function may
//! only write its own log group. Resources carry the tag `bomc:ttl` (not
//! `bomc:expires`, unknown until the stack exists); the `Expires` output says
//! when.
//!
//! **What it may do.** The delete role holds exactly the permissions each
//! resource type's CloudFormation handler declares for *delete*
//! (`handlers.delete.permissions` in the registry schemas), each scoped as the
//! Service Authorization Reference allows: by ARN where the ARN follows from the
//! stack (the stack and its nested stacks `${AWS::StackName}-Stack*`, the
//! schedule, the buckets, the load balancers' listeners and rules, the hosted
//! zone with only `DELETE`s of this stack's record names), else by the tags
//! every bomc resource carries (`bomc:landscape`, `bomc:instance` and
//! `bomc:lifetime = ephemeral` — so never a persistent environment's
//! resources). Only reads that AWS does not scope stay on `*`, and one write:
//! `ecs:DeregisterTaskDefinition`, which takes no resource and no condition key
//! (see [`UNSCOPABLE`]).
//!
//! **Buckets are emptied first.** S3 refuses to delete a bucket that holds
//! objects, and a versioned bucket keeps every version and delete marker. Each
//! bucket gets a Lambda-backed custom resource that, on `Delete`, deletes every
//! object version and delete marker. It refers to the bucket, so CloudFormation
//! deletes it (and runs the emptying) before the bucket; the resources that
//! refer to the bucket (the tasks that write to it) depend on it, so they are
//! gone before it runs. Its function may list and delete objects in that one
//! bucket and write its own log group, nothing else.
//!
//! **Failures reach a person.** Two ways the deletion can fail, two reports,
//! both published to an SNS topic named by the `ExpiryAlertTopic` parameter (a
//! topic the team creates once per account and region, default
//! `bomc-expiry-alerts`; a parameter with a default rather than an optional ARN
//! because the template has no `Conditions` section to switch the alert off):
//! - the schedule cannot call `DeleteStack` (denied, throttled past its
//!   retries): Scheduler puts the event in `ExpiryDeadLetterQueue` and a
//!   CloudWatch alarm on that queue fires. Both live as long as the stack,
//!   which in this case is not being deleted.
//! - the deletion starts but ends in `DELETE_FAILED`: an EventBridge rule on
//!   CloudFormation's `CloudFormation Stack Status Change` event for this stack
//!   id with status `DELETE_FAILED` publishes a message naming the stack and
//!   the reason. The rule is retained like the role, because CloudFormation
//!   may delete it before the resource that fails; it matches only this stack
//!   id, which never recurs.

use super::cat;
use super::{Template, add_function_log_group, skips};
use crate::emit::json::json;
use crate::emit::json::{Json, Map};
use std::collections::{BTreeMap, BTreeSet};

/// Logical ids of what this module adds to the stack.
pub(crate) const DELETE_ROLE: &str = "ExpiryDeleteRole";
pub(crate) const SCHEDULE_ROLE: &str = "ExpiryScheduleRole";
pub(crate) const SCHEDULE: &str = "ExpirySchedule";
pub(crate) const DEAD_LETTER_QUEUE: &str = "ExpiryDeadLetterQueue";
pub(crate) const DEAD_LETTER_ALARM: &str = "ExpiryDeadLetterAlarm";
pub(crate) const FAILED_RULE: &str = "ExpiryDeleteFailedRule";
pub(crate) const ALERT_TOPIC: &str = "ExpiryAlertTopic";
pub(crate) const CLOCK: &str = "ExpiryClock";
pub(crate) const TTL_PARAMETER: &str = "TtlSeconds";
pub(crate) const RENEWAL_PARAMETER: &str = "ExpiryRenewal";
/// The custom resource type that computes the expiry time at deploy time.
pub(crate) const CLOCK_TYPE: &str = "Custom::ExpiryClock";
/// The custom resource type that empties a bucket before it is deleted.
pub(crate) const EMPTIER_TYPE: &str = "Custom::EmptyBucket";

/// Destructive actions that AWS lets no policy scope: no resource type and no
/// condition key in the Service Authorization Reference (Amazon ECS:
/// `DeregisterTaskDefinition` lists neither). CloudFormation's handler for
/// `AWS::ECS::TaskDefinition` needs it to delete a revision. Its reach is
/// small: "existing tasks and services that reference an INACTIVE task
/// definition continue to run without disruption" (ECS API reference); a
/// deregistered revision can only no longer start new tasks or services.
pub(crate) const UNSCOPABLE: &[&str] = &["ecs:DeregisterTaskDefinition"];

/// What deleting one resource type takes: actions on resources that carry the
/// environment's tags (every one of them supports `aws:ResourceTag` on its
/// resource type), and reads that AWS only grants on `*`. Types with ARN-scoped
/// needs (buckets, listeners, rules, records, stacks, the schedule) are handled
/// where their ARNs are built.
fn delete_needs(resource_type: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match resource_type {
        // The handler also declares kms:DescribeKey, for clusters with a
        // customer key; bomc's clusters have none.
        "AWS::ECS::Cluster" => (&["ecs:DeleteCluster", "ecs:DescribeClusters"], &[]),
        "AWS::ECS::Service" => (&["ecs:DeleteService", "ecs:DescribeServices"], &[]),
        // ecs:DeregisterTaskDefinition: see UNSCOPABLE; iam:PassRole: its own
        // statement (with iam:PassedToService).
        "AWS::ECS::TaskDefinition" => (&["iam:GetRole"], &["ecs:DescribeTaskDefinition"]),
        "AWS::Logs::LogGroup" => (
            &["logs:DeleteLogGroup", "logs:DeleteDataProtectionPolicy"],
            &["logs:DescribeLogGroups"],
        ),
        "AWS::IAM::Role" => (
            &[
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
            ],
            &[],
        ),
        "AWS::EC2::SecurityGroup" => (
            &["ec2:DeleteSecurityGroup"],
            &["ec2:DescribeSecurityGroups", "ec2:DescribeInstances"],
        ),
        // The rule goes with the group it belongs to, which is this stack's.
        "AWS::EC2::SecurityGroupIngress" => (
            &["ec2:RevokeSecurityGroupIngress"],
            &[
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeSecurityGroups",
            ],
        ),
        "AWS::ServiceDiscovery::PrivateDnsNamespace" => (
            &["servicediscovery:DeleteNamespace"],
            &["servicediscovery:GetOperation"],
        ),
        "AWS::ServiceDiscovery::Service" => (
            &[
                "servicediscovery:DeleteService",
                "servicediscovery:GetService",
            ],
            &[],
        ),
        // No final snapshot: ephemeral databases have DeletionPolicy Delete,
        // so rds:CreateDBSnapshot is left out.
        "AWS::RDS::DBInstance" => (
            &[
                "rds:DeleteDBInstance",
                "rds:DescribeDBInstances",
                "rds:AddTagsToResource",
            ],
            &[],
        ),
        "AWS::RDS::DBSubnetGroup" => (
            &[
                "rds:DeleteDBSubnetGroup",
                "rds:DescribeDBSubnetGroups",
                "rds:ListTagsForResource",
            ],
            &[],
        ),
        // No final snapshot either (DeletionPolicy Delete).
        "AWS::ElastiCache::ReplicationGroup" => (
            &[
                "elasticache:DeleteReplicationGroup",
                "elasticache:DescribeReplicationGroups",
            ],
            &[],
        ),
        "AWS::ElastiCache::SubnetGroup" => (
            &[
                "elasticache:DeleteCacheSubnetGroup",
                "elasticache:DescribeCacheSubnetGroups",
                "elasticache:ListTagsForResource",
            ],
            &[],
        ),
        "AWS::OpenSearchService::Domain" => (&["es:DeleteDomain", "es:DescribeDomain"], &[]),
        // Its network interfaces: a statement of their own (by VPC).
        "AWS::AmazonMQ::Broker" => (&["mq:DeleteBroker", "mq:DescribeBroker"], &[]),
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => (
            &["elasticloadbalancing:DeleteLoadBalancer"],
            &["elasticloadbalancing:DescribeLoadBalancers"],
        ),
        "AWS::ElasticLoadBalancingV2::Listener" => {
            (&[], &["elasticloadbalancing:DescribeListeners"])
        }
        "AWS::ElasticLoadBalancingV2::ListenerRule" => {
            (&[], &["elasticloadbalancing:DescribeRules"])
        }
        "AWS::ElasticLoadBalancingV2::TargetGroup" => (
            &["elasticloadbalancing:DeleteTargetGroup"],
            &["elasticloadbalancing:DescribeTargetGroups"],
        ),
        "AWS::CertificateManager::Certificate" => (
            &[
                "acm:DeleteCertificate",
                "acm:DescribeCertificate",
                "acm:RemoveTagsFromCertificate",
            ],
            &[],
        ),
        "AWS::Route53::RecordSet" => (&[], &["route53:ListHostedZones"]),
        // A network the stack created (`network { vpc = "create" }`): every
        // piece carries the tags, or is deleted through one that does (a
        // route through its table, an association through its table and
        // subnet, an attachment through its gateway and VPC).
        "AWS::EC2::VPC" => (&["ec2:DeleteVpc"], &["ec2:DescribeVpcs"]),
        "AWS::EC2::Subnet" => (&["ec2:DeleteSubnet"], &["ec2:DescribeSubnets"]),
        "AWS::EC2::InternetGateway" => (
            &["ec2:DeleteInternetGateway"],
            &["ec2:DescribeInternetGateways"],
        ),
        // The handler also declares ec2:DetachVpnGateway: bomc attaches no
        // VPN gateway.
        "AWS::EC2::VPCGatewayAttachment" => (
            &["ec2:DetachInternetGateway"],
            &["ec2:DescribeInternetGateways"],
        ),
        "AWS::EC2::RouteTable" => (&["ec2:DeleteRouteTable"], &["ec2:DescribeRouteTables"]),
        "AWS::EC2::Route" => (&["ec2:DeleteRoute"], &["ec2:DescribeRouteTables"]),
        "AWS::EC2::SubnetRouteTableAssociation" => (
            &["ec2:DisassociateRouteTable"],
            &["ec2:DescribeSubnets", "ec2:DescribeRouteTables"],
        ),
        "AWS::EC2::NatGateway" => (&["ec2:DeleteNatGateway"], &["ec2:DescribeNatGateways"]),
        "AWS::EC2::EIP" => (
            &["ec2:ReleaseAddress", "ec2:DisassociateAddress"],
            &["ec2:DescribeAddresses"],
        ),
        "AWS::Lambda::Function" => (
            &["lambda:DeleteFunction", "lambda:GetFunction"],
            &["ec2:DescribeNetworkInterfaces"],
        ),
        // CloudFormation invokes a custom resource's function with the
        // stack's role to delete it.
        EMPTIER_TYPE | CLOCK_TYPE | super::jobs::RUN_TYPE => (&["lambda:InvokeFunction"], &[]),
        "AWS::SQS::Queue" => (&["sqs:DeleteQueue", "sqs:GetQueueAttributes"], &[]),
        "AWS::CloudWatch::Alarm" => (
            &["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms"],
            &[],
        ),
        _ => (&[], &[]),
    }
}

/// `arn:${AWS::Partition}:…` with the stack's partition, region and account.
fn arn(rest: &str) -> Json {
    json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:{rest}")})
}

fn tag(tags: &Json, key: &str) -> String {
    tags.as_array()
        .into_iter()
        .flatten()
        .find(|t| t["Key"] == key)
        .and_then(|t| t["Value"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// The condition that limits an action to resources this environment created:
/// its landscape and instance, and only while it is ephemeral.
fn this_environment(tags: &Json) -> Json {
    let mut keys = Map::new();
    for key in ["bomc:landscape", "bomc:instance", "bomc:lifetime"] {
        keys.insert(format!("aws:ResourceTag/{key}"), json!(tag(tags, key)));
    }
    json!({"StringEquals": keys})
}

/// The schedule's name: `bomc-expiry-` and the stack id's UUID, unique and
/// known before the schedule exists (so the delete role can name it).
fn schedule_name() -> Json {
    json!({"Fn::Join": ["", ["bomc-expiry-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]]})
}

/// The Python function that empties a bucket when its custom resource is
/// deleted: every object version and delete marker, then it answers
/// CloudFormation. It fails (and says why) rather than time out silently.
const EMPTIER_CODE: &str = r#"import json
import urllib.request

import boto3
from botocore.exceptions import ClientError


def answer(event, context, status, reason, physical_id):
    body = json.dumps({
        "Status": status,
        "Reason": reason[:900] + " (log stream " + context.log_stream_name + ")",
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=60)


def empty(bucket, context):
    s3 = boto3.client("s3")
    deleted = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            if context.get_remaining_time_in_millis() < 60000:
                raise RuntimeError(f"out of time after deleting {deleted} versions; delete the rest and retry")
            batch = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if batch:
                result = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                if result.get("Errors"):
                    raise RuntimeError(f"{len(result['Errors'])} versions not deleted, e.g. {result['Errors'][0]}")
                deleted += len(batch)
    except ClientError as e:
        if e.response["Error"]["Code"] != "NoSuchBucket":
            raise
    return deleted


def handler(event, context):
    bucket = event["ResourceProperties"]["BucketName"]
    physical_id = event.get("PhysicalResourceId", bucket)
    try:
        if event["RequestType"] == "Delete":
            reason = f"emptied {bucket}: {empty(bucket, context)} versions and delete markers deleted"
        else:
            physical_id = bucket
            reason = f"{bucket} will be emptied before it is deleted"
        print(reason)
        answer(event, context, "SUCCESS", reason, physical_id)
    except Exception as e:
        print(f"cannot empty {bucket}: {e!r}")
        answer(event, context, "FAILED", f"cannot empty {bucket}: {e}", physical_id)
"#;

/// The function behind `ExpiryClock`: the expiry time, from the stack's
/// creation (or last renewal) and the TTL. No AWS call.
const CLOCK_CODE: &str = r#"import json
import time
import urllib.request


def answer(event, context, status, reason, pid, data):
    body = json.dumps({
        "Status": status,
        "Reason": reason + " (log stream " + context.log_stream_name + ")",
        "PhysicalResourceId": pid,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""})
    urllib.request.urlopen(request, timeout=60)


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))


def handler(event, context):
    pid = event.get("PhysicalResourceId", "")
    try:
        if event["RequestType"] == "Delete":
            answer(event, context, "SUCCESS", "nothing to delete", pid, {})
            return
        p = event["ResourceProperties"]
        ttl = int(p["TtlSeconds"])
        now = int(time.time())
        start = now
        if event["RequestType"] == "Update":
            old = event["OldResourceProperties"]
            if old.get("Renewal", "") == p.get("Renewal", "") and pid.startswith("bomc-expiry-"):
                start = int(pid.rsplit("-", 1)[1])
        at = max(start + ttl, now + 300)
        reason = f"counted from {stamp(start)}Z: expires {stamp(at)}Z"
        print(reason)
        answer(event, context, "SUCCESS", reason, f"bomc-expiry-{start}", {"At": stamp(at), "Expires": stamp(at) + "Z"})
    except Exception as e:
        print(f"cannot compute the expiry: {e!r}")
        answer(event, context, "FAILED", f"cannot compute the expiry: {e}", pid or "bomc-expiry-failed", {})
"#;

/// `ExpiryClock` and its function, role and log group; the TTL parameters.
fn clock(t: &mut Template, ttl_seconds: u64) {
    let ttl = t.parameter(
        TTL_PARAMETER,
        json!({
            "Type": "Number",
            "Default": ttl_seconds.to_string(),
            "MinValue": 1,
            "Description": "Seconds this ephemeral environment lives, counted from the stack's creation (or its last renewal); then it deletes itself. Default: the environment's ttl. Changing it on an update moves the expiry to start + the new value.",
        }),
    );
    let renewal = t.parameter(
        RENEWAL_PARAMETER,
        json!({
            "Type": "String",
            "Default": "",
            "MaxLength": 128,
            "Description": "Leave as it is: updates keep the expiry. Set a new value (e.g. today's date) on an update to count TtlSeconds again from that update.",
        }),
    );
    add_function_log_group(t, format!("{CLOCK}Logs"), 7);
    t.add(
        format!("{CLOCK}Role"),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Lets the function that computes this environment's expiry write its log, nothing else",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                },
                "Policies": [{
                    "PolicyName": "own-logs",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": {"Fn::GetAtt": [format!("{CLOCK}Logs"), "Arn"]}}
                        ]
                    }
                }],
                "Tags": t.tags(),
            }
        }),
    );
    t.add(
        format!("{CLOCK}Function"),
        json!({
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Description": "Computes when this ephemeral environment expires: its creation (or last renewal) plus TtlSeconds",
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Timeout": 60,
                "MemorySize": 128,
                "Role": {"Fn::GetAtt": [format!("{CLOCK}Role"), "Arn"]},
                "LoggingConfig": {"LogGroup": {"Ref": format!("{CLOCK}Logs")}},
                "Code": {"ZipFile": CLOCK_CODE},
                "Tags": t.tags(),
            },
            "Metadata": skips(&[
                ("CKV_AWS_115", "runs once per deployment; reserving concurrency would take it from the account's pool for nothing"),
                ("CKV_AWS_116", "invoked by CloudFormation, which gets the failure as the custom resource's answer; a dead-letter queue would hold nothing"),
                ("CKV_AWS_117", "calls no AWS API, only CloudFormation's response URL; in a VPC it would need a NAT for nothing"),
            ]),
        }),
    );
    t.add(
        String::from(CLOCK),
        json!({
            "Type": CLOCK_TYPE,
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": [format!("{CLOCK}Function"), "Arn"]},
                "ServiceTimeout": 300,
                "TtlSeconds": ttl,
                "Renewal": renewal,
            }
        }),
    );
}

/// Adds, for one bucket, the custom resource that empties it before
/// CloudFormation deletes it, and the function (with its role and log group)
/// behind it. Returns the custom resource's logical id.
fn emptier(t: &mut Template, bucket: &str) -> String {
    let id = cat(&[bucket, "Emptier"]);
    let bucket_arn = json!({"Fn::GetAtt": [bucket, "Arn"]});
    let objects = json!({"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]});
    add_function_log_group(t, cat(&[&id, "Logs"]), 7);
    t.add(
        cat(&[&id, "Role"]),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": format!("Lets the function that empties {bucket} before deletion list and delete its objects, nothing else"),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                },
                "Policies": [{
                    "PolicyName": "empty-this-bucket",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions"], "Resource": bucket_arn},
                            {"Effect": "Allow", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": objects},
                            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": {"Fn::GetAtt": [cat(&[&id, "Logs"]), "Arn"]}}
                        ]
                    }
                }],
                "Tags": t.tags(),
            }
        }),
    );
    t.add(
        cat(&[&id, "Function"]),
        json!({
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Description": format!("Empties {bucket} (every version and delete marker) when the ephemeral environment is deleted"),
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Timeout": 900,
                "MemorySize": 256,
                "Role": {"Fn::GetAtt": [cat(&[&id, "Role"]), "Arn"]},
                "LoggingConfig": {"LogGroup": {"Ref": cat(&[&id, "Logs"])}},
                "Code": {"ZipFile": EMPTIER_CODE},
                "Tags": t.tags(),
            },
            "Metadata": skips(&[
                ("CKV_AWS_115", "runs once per stack deletion; reserving concurrency would take it from the account's pool for nothing"),
                ("CKV_AWS_116", "invoked synchronously by CloudFormation, which gets the failure as the custom resource's answer; a dead-letter queue would hold nothing"),
                ("CKV_AWS_117", "talks only to the S3 API and CloudFormation's response URL; in a VPC it would need endpoints or a NAT for nothing"),
            ]),
        }),
    );
    t.add(
        id.clone(),
        json!({
            "Type": EMPTIER_TYPE,
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": [cat(&[&id, "Function"]), "Arn"]},
                // The reference makes the custom resource depend on the bucket,
                // so CloudFormation deletes it — and empties the bucket — first.
                "BucketName": {"Ref": bucket},
                "ServiceTimeout": 960,
            }
        }),
    );
    id
}

/// Whether `v` refers to the resource `id` (`Ref`, `Fn::GetAtt`, `Fn::Sub`).
fn refers_to(v: &Json, id: &str) -> bool {
    match v {
        Json::Object(m) => {
            m.get("Ref").and_then(Json::as_str) == Some(id)
                || m.get("Fn::GetAtt")
                    .and_then(|a| a.get(0))
                    .and_then(Json::as_str)
                    == Some(id)
                || m.get("Fn::Sub").is_some_and(|s| {
                    let text = s.as_str().or_else(|| s.get(0).and_then(Json::as_str));
                    text.is_some_and(|s| {
                        s.contains(&format!("${{{id}}}")) || s.contains(&format!("${{{id}."))
                    })
                })
                || m.values().any(|x| refers_to(x, id))
        }
        Json::Array(a) => a.iter().any(|x| refers_to(x, id)),
        Json::Shared(value) => refers_to(value, id),
        _ => false,
    }
}

/// Makes every resource that uses `bucket` (the tasks that write to it) wait
/// for its emptier, so that on deletion they are gone before it runs.
fn writers_first(t: &mut Template, bucket: &str, emptier: &str) {
    for (id, resource) in t.resources.iter_mut() {
        let waits = match &resource["DependsOn"] {
            Json::Array(a) => a.iter().any(|d| d == bucket),
            d => d == bucket,
        };
        if id == bucket || id.starts_with(emptier) || !(waits || refers_to(resource, bucket)) {
            continue;
        }
        let Some(obj) = resource.as_object_mut() else {
            continue;
        };
        let mut depends: Vec<Json> = match obj.remove("DependsOn") {
            Some(Json::Array(a)) => a,
            Some(Json::String(s)) => vec![Json::String(s)],
            _ => Vec::new(),
        };
        if !depends.iter().any(|d| d == emptier) {
            depends.push(json!(emptier));
        }
        obj.insert(String::from("DependsOn"), Json::Array(depends));
    }
}

/// A policy statement.
fn allow(sid: &str, actions: impl IntoIterator<Item = impl Into<String>>, resource: Json) -> Json {
    let actions: BTreeSet<String> = actions.into_iter().map(Into::into).collect();
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource})
}

/// The delete role's statements, for the resources of the template.
fn delete_statements(t: &mut Template, types: &BTreeSet<String>, tags: &Json) -> Vec<Json> {
    let mut tagged: BTreeSet<&str> = BTreeSet::new();
    let mut reads: BTreeSet<&str> = BTreeSet::new();
    for ty in types {
        let (t_actions, r_actions) = delete_needs(ty);
        tagged.extend(t_actions);
        reads.extend(r_actions);
    }
    let mut statements = vec![
        // The stack itself, and its nested stacks (`<stack>-Stack01-…`, see
        // split.rs), which CloudFormation deletes with this same role. The
        // pattern costs nothing when the template is not split.
        allow(
            "ThisStackAndItsNestedStacks",
            [
                "cloudformation:DeleteStack",
                "cloudformation:DescribeStacks",
            ],
            json!([
                {"Ref": "AWS::StackId"},
                arn("cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}-Stack*/*"),
            ]),
        ),
        allow(
            "ThisSchedule",
            ["scheduler:DeleteSchedule", "scheduler:GetSchedule"],
            json!({"Fn::Join": ["", [
                arn("scheduler:${AWS::Region}:${AWS::AccountId}:schedule/default/"),
                schedule_name(),
            ]]}),
        ),
    ];
    if !tagged.is_empty() {
        let mut s = allow("ResourcesTaggedWithThisEnvironment", tagged, json!("*"));
        s["Condition"] = this_environment(tags);
        statements.push(s);
    }
    if types.contains("AWS::ECS::TaskDefinition") {
        let mut s = allow(
            "PassThisEnvironmentsTaskRoles",
            ["iam:PassRole"],
            json!("*"),
        );
        s["Condition"] = this_environment(tags);
        s["Condition"]["StringEquals"]["iam:PassedToService"] = json!("ecs-tasks.amazonaws.com");
        statements.push(s);
        statements.push(allow(
            "DeregisterTaskDefinitionsWhichAwsCannotScope",
            UNSCOPABLE.iter().copied(),
            json!("*"),
        ));
    }
    // Buckets: S3 has no resource tags in IAM; by ARN.
    let buckets: Vec<String> = ids_of(t, "AWS::S3::Bucket");
    if !buckets.is_empty() {
        let arns: Vec<Json> = buckets
            .iter()
            .map(|b| json!({"Fn::GetAtt": [b, "Arn"]}))
            .collect();
        statements.push(allow(
            "ThisEnvironmentsBuckets",
            ["s3:DeleteBucket", "s3:ListBucket"],
            json!(arns),
        ));
    }
    // Listeners and rules carry no tags: by the ARN of their load balancer,
    // or of the shared listener the rules were added to.
    let mut listener_arns = Vec::new();
    for lb in ids_of(t, "AWS::ElasticLoadBalancingV2::LoadBalancer") {
        for kind in ["listener", "listener-rule"] {
            listener_arns.push(json!({"Fn::Join": ["", [
                arn(&format!("elasticloadbalancing:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/app/")),
                {"Fn::GetAtt": [&lb, "LoadBalancerName"]},
                "/*",
            ]]}));
        }
    }
    let shared_rules: BTreeSet<String> = t
        .resources
        .values()
        .filter(|r| r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule")
        .filter_map(|r| r["Properties"]["ListenerArn"].as_str())
        .map(|listener| {
            format!(
                "{}/*",
                listener.replacen(":listener/", ":listener-rule/", 1)
            )
        })
        .collect();
    listener_arns.extend(shared_rules.into_iter().map(Json::String));
    if !listener_arns.is_empty() {
        statements.push(allow(
            "ThisEnvironmentsListenersAndRules",
            [
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteRule",
            ],
            json!(listener_arns),
        ));
    }
    // DNS records: in their zone, only deletions of this stack's names.
    let records: Vec<&Json> = t
        .resources
        .values()
        .filter(|r| r["Type"] == "AWS::Route53::RecordSet")
        .collect();
    if !records.is_empty() {
        let zones: BTreeSet<String> = records
            .iter()
            .map(|r| r["Properties"]["HostedZoneId"].to_string())
            .collect();
        let zones: Vec<Json> = zones
            .iter()
            .filter_map(|z| serde_json::from_str::<serde_json::Value>(z).ok())
            .map(Json::from)
            .map(|z| json!({"Fn::Join": ["", [arn("route53:::hostedzone/"), z]]}))
            .collect();
        let names: BTreeSet<String> = records
            .iter()
            .filter_map(|r| r["Properties"]["Name"].as_str())
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        let mut condition = json!({"ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsActions": ["DELETE"],
        }});
        if names.len() == records.len() {
            condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] =
                json!(names);
        }
        let mut s = allow(
            "DeleteOnlyThisEnvironmentsRecords",
            ["route53:ChangeResourceRecordSets"],
            json!(zones.clone()),
        );
        s["Condition"] = condition;
        statements.push(s);
        statements.push(allow(
            "ReadThoseZones",
            ["route53:GetHostedZone", "route53:ListResourceRecordSets"],
            json!(zones),
        ));
        statements.push(allow(
            "FollowRecordChanges",
            ["route53:GetChange"],
            arn("route53:::change/*"),
        ));
    }
    // Cloud Map deletes the private hosted zone it made for the namespace.
    for ns in ids_of(t, "AWS::ServiceDiscovery::PrivateDnsNamespace") {
        statements.push(allow(
            &cat(&[&ns, "HostedZone"]),
            ["route53:DeleteHostedZone", "route53:GetHostedZone"],
            json!({"Fn::Join": ["", [arn("route53:::hostedzone/"), {"Fn::GetAtt": [ns, "HostedZoneId"]}]]}),
        ));
    }
    // Amazon MQ deletes a broker's network interfaces with the caller's rights;
    // they carry none of our tags, so: only in this environment's VPC.
    // (The handler also declares ec2:DeleteVpcEndpoints, which can be scoped
    // neither by VPC nor by our tags; it is left out: if Amazon MQ needs it,
    // the deletion fails and the DELETE_FAILED alert says so.)
    if types.contains("AWS::AmazonMQ::Broker") {
        let vpc = t.vpc();
        let mut s = allow(
            "BrokerNetworkInterfacesInThisVpc",
            [
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
                "ec2:DetachNetworkInterface",
            ],
            json!("*"),
        );
        s["Condition"] = json!({"StringEquals": {"ec2:Vpc": {"Fn::Join": ["", [
            arn("ec2:${AWS::Region}:${AWS::AccountId}:vpc/"),
            vpc,
        ]]}}});
        statements.push(s);
    }
    if !reads.is_empty() {
        statements.push(allow("ReadsAwsDoesNotScope", reads, json!("*")));
    }
    statements
}

/// The ids of the resources of `resource_type`, in id order.
fn ids_of(t: &Template, resource_type: &str) -> Vec<String> {
    let mut ids: Vec<String> = t
        .resources
        .iter()
        .filter(|(_, r)| r["Type"] == resource_type)
        .map(|(id, _)| id.clone())
        .collect();
    ids.sort_unstable();
    ids
}

/// Adds the self-delete (schedule, roles, bucket emptiers) and the failure
/// alerts, for ephemeral environments.
pub(crate) fn self_delete(t: &mut Template) {
    let crate::lower::plan::Lifetime::Ephemeral { ttl_seconds, .. } = t.plan.instance.lifetime
    else {
        return;
    };
    let project = t.plan.instance.project.clone();
    let tags = t.tags();
    // A score of types among thousands of resources: each copied once.
    let mut types: BTreeSet<String> = BTreeSet::new();
    for ty in t.resources.values().filter_map(|r| r["Type"].as_str()) {
        if !types.contains(ty) {
            types.insert(ty.to_string());
        }
    }
    clock(t, ttl_seconds);

    // Buckets are emptied before they are deleted.
    let buckets = ids_of(t, "AWS::S3::Bucket");
    let mut emptiers = BTreeMap::new();
    for bucket in &buckets {
        emptiers.insert(bucket.clone(), emptier(t, bucket));
    }
    for (bucket, emptier) in &emptiers {
        writers_first(t, bucket, emptier);
    }
    if !buckets.is_empty() {
        types.extend(
            [
                "AWS::Logs::LogGroup",
                "AWS::IAM::Role",
                "AWS::Lambda::Function",
                EMPTIER_TYPE,
            ]
            .map(String::from),
        );
    }
    // What this module adds and CloudFormation deletes (the delete role and
    // the failure rule are retained).
    types.extend(
        [
            "AWS::IAM::Role",
            "AWS::SQS::Queue",
            "AWS::CloudWatch::Alarm",
            "AWS::Logs::LogGroup",
            "AWS::Lambda::Function",
            CLOCK_TYPE,
        ]
        .map(String::from),
    );

    let topic_name = t.parameter(
        ALERT_TOPIC,
        json!({
            "Type": "String",
            "Default": "bomc-expiry-alerts",
            "AllowedPattern": "^[A-Za-z0-9_-]{1,256}$",
            "Description": "Name of the SNS topic (this account and region) told when this ephemeral environment fails to delete itself at expiry. Create it once and subscribe the team; its access policy must let events.amazonaws.com publish.",
        }),
    );
    let topic =
        json!({"Fn::Join": ["", [arn("sns:${AWS::Region}:${AWS::AccountId}:"), topic_name]]});

    let statements = delete_statements(t, &types, &tags);
    t.add(
        String::from(DELETE_ROLE),
        json!({
            "Type": "AWS::IAM::Role",
            // CloudFormation deletes the stack with this role's credentials:
            // it must outlive every other resource, so it is never deleted.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Path": "/bomc-expiry/",
                "Description": format!("CloudFormation deletes {project} with this role when it expires (TtlSeconds after its creation). Kept after the stack is deleted; delete it once the stack is gone."),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudformation.amazonaws.com"},
                        "Action": "sts:AssumeRole"
                    }]
                },
                "Policies": [{
                    "PolicyName": "delete-this-stack",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}
                }],
                "Tags": tags,
            }
        }),
    );
    let tags = t.tags();
    t.add(
        String::from(DEAD_LETTER_QUEUE),
        json!({
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "MessageRetentionPeriod": 1_209_600,
                "SqsManagedSseEnabled": true,
                "Tags": tags,
            },
            "Metadata": skips(&[("CKV_AWS_27", "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which checkov does not recognise; a KMS key would add cost and a key policy for the scheduler's role")]),
        }),
    );
    t.add(
        String::from(SCHEDULE_ROLE),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": format!("Lets the expiry schedule of {project} start its deletion with {DELETE_ROLE}, and report when it cannot"),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
                    }]
                },
                "Policies": [{
                    "PolicyName": "start-deleting-this-stack",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "cloudformation:DeleteStack",
                                "Resource": {"Ref": "AWS::StackId"},
                                "Condition": {"StringEquals": {"cloudformation:RoleArn": {"Fn::GetAtt": [DELETE_ROLE, "Arn"]}}}
                            },
                            {
                                "Effect": "Allow",
                                "Action": "iam:PassRole",
                                "Resource": {"Fn::GetAtt": [DELETE_ROLE, "Arn"]},
                                "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
                            },
                            {
                                "Effect": "Allow",
                                "Action": "sqs:SendMessage",
                                "Resource": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]}
                            }
                        ]
                    }
                }],
                "Tags": t.tags(),
            }
        }),
    );
    t.add(
        String::from(SCHEDULE),
        json!({
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Name": schedule_name(),
                "Description": format!("Delete {project} at its expiry"),
                // Computed when the stack is created (see `clock`).
                "ScheduleExpression": {"Fn::Sub": format!("at(${{{CLOCK}.At}})")},
                "ScheduleExpressionTimezone": "UTC",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED",
                "Target": {
                    "Arn": "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack",
                    "RoleArn": {"Fn::GetAtt": [SCHEDULE_ROLE, "Arn"]},
                    "Input": {"Fn::Sub": format!("{{\"StackName\": \"${{AWS::StackId}}\", \"RoleARN\": \"${{{DELETE_ROLE}.Arn}}\"}}")},
                    "RetryPolicy": {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 3600},
                    "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]}},
                },
            }
        }),
    );
    t.add(
        String::from(DEAD_LETTER_ALARM),
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": format!("{project} could not start deleting itself at expiry: the schedule's failed call is in the dead-letter queue. Delete the stack by hand."),
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [topic.clone()],
                "Tags": t.tags(),
            }
        }),
    );
    t.add(
        String::from(FAILED_RULE),
        json!({
            "Type": "AWS::Events::Rule",
            // It must report the failure of the deletion that would delete it.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": format!("Tells {ALERT_TOPIC} when the expiry deletion of {project} fails (kept after the stack is deleted; matches only this stack)"),
                "State": "ENABLED",
                "EventPattern": {
                    "source": ["aws.cloudformation"],
                    "detail-type": ["CloudFormation Stack Status Change"],
                    "detail": {
                        "stack-id": [{"Ref": "AWS::StackId"}],
                        "status-details": {"status": ["DELETE_FAILED"]},
                    },
                },
                "Targets": [{
                    "Id": "alert",
                    "Arn": topic,
                    "InputTransformer": {
                        "InputPathsMap": {
                            "stack": "$.detail.stack-id",
                            "reason": "$.detail.status-details.status-reason",
                        },
                        "InputTemplate": format!("\"The ephemeral environment {project} failed to delete itself at expiry. Stack <stack>: <reason>. Delete what is left by hand (see the stack's events), then delete the stack again.\""),
                    },
                }],
                "Tags": t.tags(),
            }
        }),
    );
    t.outputs.insert(
        String::from("Expires"),
        json!({"Description": "When this ephemeral environment deletes itself (UTC): its creation, or last renewal, plus TtlSeconds", "Value": {"Fn::GetAtt": [CLOCK, "Expires"]}}),
    );
}
