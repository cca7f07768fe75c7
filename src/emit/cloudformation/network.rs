//! The network, when the environment asks the stack to create it
//! (`network { vpc = "create" }`; otherwise `VpcId`, `PrivateSubnetIds` and
//! `PublicSubnetIds` are parameters naming existing ones).
//!
//! A VPC with DNS support and host names (the private DNS namespace of
//! service discovery needs both), in the first two availability zones of the
//! region: in each a public subnet (load balancers, NAT gateways; no public
//! addresses on launch) and a private one (tasks, databases, caches,
//! brokers, search domains), the VPC's block cut in four equal subnets
//! (`Fn::Cidr`). Public subnets route to an internet gateway; private ones to
//! a NAT gateway — one in the first zone for both, or one per zone, as the plan
//! says — so tasks can pull images and reach AWS APIs. Services and job runs
//! wait for the private routes (`DependsOn`): a task started before its route
//! exists cannot pull its image. Persistent environments log the VPC's
//! traffic (a flow log to CloudWatch Logs, kept 90 days).

use super::{Template, skips};
use crate::emit::json::Json;
use crate::emit::json::json;
use crate::lower::plan::Network;

/// Logical ids.
pub(crate) const VPC: &str = "Vpc";
const ZONES: usize = 2;

fn public_subnet(i: usize) -> String {
    format!("PublicSubnet{}", i + 1)
}

fn private_subnet(i: usize) -> String {
    format!("PrivateSubnet{}", i + 1)
}

/// The private routes the tasks need before they start.
pub(crate) fn private_routes(t: &Template) -> Vec<String> {
    match t.plan.instance.network {
        Network::Create { .. } => (0..ZONES)
            .map(|i| format!("PrivateRoute{}", i + 1))
            .collect(),
        Network::Existing => Vec::new(),
    }
}

pub(crate) fn private_subnets(t: &Template) -> Option<Json> {
    matches!(t.plan.instance.network, Network::Create { .. }).then(|| {
        json!(
            (0..ZONES)
                .map(|i| json!({"Ref": private_subnet(i)}))
                .collect::<Vec<_>>()
        )
    })
}

pub(crate) fn public_subnets(t: &Template) -> Option<Json> {
    matches!(t.plan.instance.network, Network::Create { .. }).then(|| {
        json!(
            (0..ZONES)
                .map(|i| json!({"Ref": public_subnet(i)}))
                .collect::<Vec<_>>()
        )
    })
}

pub(crate) fn vpc(t: &Template) -> Option<Json> {
    matches!(t.plan.instance.network, Network::Create { .. }).then(|| json!({"Ref": VPC}))
}

fn zone(i: usize) -> Json {
    json!({"Fn::Select": [i, {"Fn::GetAZs": ""}]})
}

/// Adds the network's resources, when the plan says the stack creates it.
pub(crate) fn network(t: &mut Template) {
    let Network::Create {
        cidr,
        subnet_prefix,
        nat_gateways,
        flow_logs,
    } = t.plan.instance.network.clone()
    else {
        return;
    };
    let host_bits = 32 - subnet_prefix;
    let block = |i: usize| json!({"Fn::Select": [i, {"Fn::Cidr": [{"Fn::GetAtt": [VPC, "CidrBlock"]}, 4, host_bits.to_string()]}]});
    let vpc = json!({
        "Type": "AWS::EC2::VPC",
        "Properties": {
            "CidrBlock": cidr,
            "EnableDnsSupport": true,
            "EnableDnsHostnames": true,
            "Tags": t.tags(),
        },
    });
    t.add(String::from(VPC), vpc);
    let tags = t.tags();
    t.add(
        String::from("InternetGateway"),
        json!({"Type": "AWS::EC2::InternetGateway", "Properties": {"Tags": tags}}),
    );
    t.add(
        String::from("InternetGatewayAttachment"),
        json!({
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": {"Ref": VPC}, "InternetGatewayId": {"Ref": "InternetGateway"}},
        }),
    );
    let tags = t.tags();
    t.add(
        String::from("PublicRouteTable"),
        json!({"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": VPC}, "Tags": tags}}),
    );
    t.add(
        String::from("PublicRoute"),
        json!({
            "Type": "AWS::EC2::Route",
            "DependsOn": ["InternetGatewayAttachment"],
            "Properties": {
                "RouteTableId": {"Ref": "PublicRouteTable"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "GatewayId": {"Ref": "InternetGateway"},
            },
        }),
    );
    for i in 0..ZONES {
        let n = i + 1;
        let tags = t.tags();
        t.add(
            public_subnet(i),
            json!({
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": VPC},
                    "AvailabilityZone": zone(i),
                    "CidrBlock": block(i),
                    "MapPublicIpOnLaunch": false,
                    "Tags": tags,
                },
            }),
        );
        let tags = t.tags();
        t.add(
            private_subnet(i),
            json!({
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": VPC},
                    "AvailabilityZone": zone(i),
                    "CidrBlock": block(ZONES + i),
                    "MapPublicIpOnLaunch": false,
                    "Tags": tags,
                },
            }),
        );
        t.add(
            format!("PublicSubnet{n}RouteTableAssociation"),
            json!({
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": {"Ref": public_subnet(i)}, "RouteTableId": {"Ref": "PublicRouteTable"}},
            }),
        );
        if (i as u32) < nat_gateways {
            let tags = t.tags();
            t.add(
                format!("NatAddress{n}"),
                json!({
                    "Type": "AWS::EC2::EIP",
                    "DependsOn": ["InternetGatewayAttachment"],
                    "Properties": {"Domain": "vpc", "Tags": tags},
                }),
            );
            let tags = t.tags();
            t.add(
                format!("NatGateway{n}"),
                json!({
                    "Type": "AWS::EC2::NatGateway",
                    "Properties": {
                        "AllocationId": {"Fn::GetAtt": [format!("NatAddress{n}"), "AllocationId"]},
                        "SubnetId": {"Ref": public_subnet(i)},
                        "Tags": tags,
                    },
                }),
            );
        }
        let tags = t.tags();
        t.add(
            format!("PrivateRouteTable{n}"),
            json!({"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": VPC}, "Tags": tags}}),
        );
        // One NAT gateway: both zones leave through the first.
        let nat = if (i as u32) < nat_gateways { n } else { 1 };
        t.add(
            format!("PrivateRoute{n}"),
            json!({
                "Type": "AWS::EC2::Route",
                "Properties": {
                    "RouteTableId": {"Ref": format!("PrivateRouteTable{n}")},
                    "DestinationCidrBlock": "0.0.0.0/0",
                    "NatGatewayId": {"Ref": format!("NatGateway{nat}")},
                },
            }),
        );
        t.add(
            format!("PrivateSubnet{n}RouteTableAssociation"),
            json!({
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": {"Ref": private_subnet(i)}, "RouteTableId": {"Ref": format!("PrivateRouteTable{n}")}},
            }),
        );
    }
    if flow_logs {
        let tags = t.tags();
        t.add(
            String::from("FlowLogGroup"),
            json!({
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {"RetentionInDays": 90, "Tags": tags},
                "Metadata": skips(&[("CKV_AWS_158", "logs are encrypted at rest with the CloudWatch Logs service key; a customer key adds cost without a requirement")]),
            }),
        );
        let tags = t.tags();
        t.add(
            String::from("FlowLogRole"),
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": "Lets VPC Flow Logs write the VPC's traffic to its log group",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
                        }]
                    },
                    "Policies": [{
                        "PolicyName": "write-flow-logs",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": {"Fn::GetAtt": ["FlowLogGroup", "Arn"]}
                            }]
                        }
                    }],
                    "Tags": tags,
                }
            }),
        );
        let tags = t.tags();
        t.add(
            String::from("FlowLog"),
            json!({
                "Type": "AWS::EC2::FlowLog",
                "Properties": {
                    "ResourceId": {"Ref": VPC},
                    "ResourceType": "VPC",
                    "TrafficType": "ALL",
                    "LogDestinationType": "cloud-watch-logs",
                    "LogGroupName": {"Ref": "FlowLogGroup"},
                    "DeliverLogsPermissionArn": {"Fn::GetAtt": ["FlowLogRole", "Arn"]},
                    "Tags": tags,
                },
            }),
        );
    }
    t.outputs.insert(
        String::from("VpcId"),
        json!({"Description": "The VPC this stack created", "Value": {"Ref": VPC}}),
    );
    let join = |ids: Vec<String>| -> Json {
        json!({"Fn::Join": [",", ids.into_iter().map(|id| json!({"Ref": id})).collect::<Vec<_>>()]})
    };
    t.outputs.insert(
        String::from("PrivateSubnetIds"),
        json!({"Description": "Its private subnets (tasks, databases)", "Value": join((0..ZONES).map(private_subnet).collect())}),
    );
    t.outputs.insert(
        String::from("PublicSubnetIds"),
        json!({"Description": "Its public subnets (load balancers, NAT gateways)", "Value": join((0..ZONES).map(public_subnet).collect())}),
    );
}

/// Makes every ECS service and job run wait for the private routes.
pub(crate) fn tasks_wait_for_routes(t: &mut Template) {
    let routes = private_routes(t);
    if routes.is_empty() {
        return;
    }
    for resource in t.resources.values_mut() {
        let ty = resource["Type"].as_str().unwrap_or("");
        if ty != "AWS::ECS::Service" && ty != super::jobs::RUN_TYPE {
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
        for r in &routes {
            if !depends.iter().any(|d| d == r) {
                depends.push(json!(r));
            }
        }
        obj.insert(String::from("DependsOn"), Json::Array(depends));
    }
}
