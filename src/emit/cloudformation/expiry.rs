//! Time to live: an ephemeral environment's stack deletes itself when it
//! expires — an EventBridge Scheduler one-time schedule calls CloudFormation
//! `DeleteStack` on this very stack, with a role that may delete exactly the
//! kinds of resources the stack holds.

use super::Template;
use serde_json::{Value as Json, json};
use std::collections::BTreeSet;

/// The actions needed to delete resources of a type (CloudFormation deletes
/// the stack's resources with the caller's — here the schedule role's — rights).
fn delete_actions(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::ECS::Cluster" => &["ecs:DeleteCluster", "ecs:DescribeClusters"],
        "AWS::ECS::Service" => &[
            "ecs:DeleteService",
            "ecs:UpdateService",
            "ecs:DescribeServices",
        ],
        "AWS::ECS::TaskDefinition" => &[
            "ecs:DeregisterTaskDefinition",
            "ecs:DeleteTaskDefinitions",
            "ecs:DescribeTaskDefinition",
        ],
        "AWS::Logs::LogGroup" => &["logs:DeleteLogGroup", "logs:DescribeLogGroups"],
        "AWS::IAM::Role" => &[
            "iam:DeleteRole",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
        ],
        "AWS::EC2::SecurityGroup" => &["ec2:DeleteSecurityGroup", "ec2:DescribeSecurityGroups"],
        "AWS::EC2::SecurityGroupIngress" => &[
            "ec2:RevokeSecurityGroupIngress",
            "ec2:DescribeSecurityGroups",
        ],
        "AWS::ServiceDiscovery::PrivateDnsNamespace" => &[
            "servicediscovery:DeleteNamespace",
            "servicediscovery:GetOperation",
            "route53:DeleteHostedZone",
            "route53:GetHostedZone",
        ],
        "AWS::ServiceDiscovery::Service" => &[
            "servicediscovery:DeleteService",
            "servicediscovery:GetService",
        ],
        "AWS::RDS::DBInstance" => &[
            "rds:DeleteDBInstance",
            "rds:DescribeDBInstances",
            "rds:ModifyDBInstance",
        ],
        "AWS::RDS::DBSubnetGroup" => &["rds:DeleteDBSubnetGroup", "rds:DescribeDBSubnetGroups"],
        "AWS::ElastiCache::ReplicationGroup" => &[
            "elasticache:DeleteReplicationGroup",
            "elasticache:DescribeReplicationGroups",
        ],
        "AWS::ElastiCache::SubnetGroup" => &[
            "elasticache:DeleteCacheSubnetGroup",
            "elasticache:DescribeCacheSubnetGroups",
        ],
        "AWS::OpenSearchService::Domain" => &["es:DeleteDomain", "es:DescribeDomain"],
        "AWS::AmazonMQ::Broker" => &["mq:DeleteBroker", "mq:DescribeBroker"],
        "AWS::S3::Bucket" => &["s3:DeleteBucket"],
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => &[
            "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:DescribeLoadBalancers",
        ],
        "AWS::ElasticLoadBalancingV2::Listener" => &[
            "elasticloadbalancing:DeleteListener",
            "elasticloadbalancing:DescribeListeners",
        ],
        "AWS::ElasticLoadBalancingV2::ListenerRule" => &[
            "elasticloadbalancing:DeleteRule",
            "elasticloadbalancing:DescribeRules",
        ],
        "AWS::ElasticLoadBalancingV2::TargetGroup" => &[
            "elasticloadbalancing:DeleteTargetGroup",
            "elasticloadbalancing:DescribeTargetGroups",
        ],
        "AWS::CertificateManager::Certificate" => {
            &["acm:DeleteCertificate", "acm:DescribeCertificate"]
        }
        "AWS::Route53::RecordSet" => &[
            "route53:ChangeResourceRecordSets",
            "route53:GetChange",
            "route53:ListResourceRecordSets",
        ],
        "AWS::CloudFormation::Stack" => &[
            "cloudformation:DeleteStack",
            "cloudformation:DescribeStacks",
        ],
        "AWS::Scheduler::Schedule" => &["scheduler:DeleteSchedule"],
        _ => &[],
    }
}

/// Adds the self-delete schedule and its role, for ephemeral environments.
pub(crate) fn self_delete(t: &mut Template, resource_types: &BTreeSet<String>) {
    let Some(expires) = t.plan.instance.expires().map(String::from) else {
        return;
    };
    let at = expires.trim_end_matches('Z');
    let mut actions: BTreeSet<&str> = BTreeSet::new();
    for ty in resource_types.iter().chain(
        [
            "AWS::IAM::Role".to_string(),
            "AWS::Scheduler::Schedule".to_string(),
        ]
        .iter(),
    ) {
        actions.extend(delete_actions(ty));
    }
    let deletes: Vec<Json> = actions.into_iter().map(|a| json!(a)).collect();
    let tags = t.tags();
    t.add(
        String::from("ExpiryRole"),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": format!("Deletes this ephemeral environment's stack when it expires ({expires})"),
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
                    "PolicyName": "delete-this-stack",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["cloudformation:DeleteStack", "cloudformation:DescribeStacks"], "Resource": {"Ref": "AWS::StackId"}},
                            {"Effect": "Allow", "Action": deletes, "Resource": "*"}
                        ]
                    }
                }],
                "Tags": tags,
            }
        }),
    );
    t.add(
        String::from("ExpirySchedule"),
        json!({
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Description": format!("Delete {} at its expiry", t.plan.instance.project),
                "ScheduleExpression": format!("at({at})"),
                "ScheduleExpressionTimezone": "UTC",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED",
                "Target": {
                    "Arn": "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack",
                    "RoleArn": {"Fn::GetAtt": ["ExpiryRole", "Arn"]},
                    "Input": {"Fn::Sub": "{\"StackName\": \"${AWS::StackName}\"}"},
                    "RetryPolicy": {"MaximumRetryAttempts": 3},
                },
            }
        }),
    );
    t.outputs.insert(
        String::from("Expires"),
        json!({"Description": "When this ephemeral environment deletes itself", "Value": expires}),
    );
}
