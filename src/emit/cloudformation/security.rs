//! Security groups from the graph's least-privilege facts: one group per
//! component; ingress only from the groups of the components that reference
//! it, on the ports they use. Internet-facing load balancers alone accept
//! traffic from anywhere, on 80 (redirected) and 443.

use super::cat;
use super::{Template, skips};
use crate::emit::json::json;
use crate::lower::plan::Role;

pub(crate) fn security_groups(t: &mut Template) {
    let plan = t.plan;
    let shared_lb = plan.instance.shared.listener.is_some();
    let is_bucket = |name: &str| matches!(t.workload(name).map(|w| &w.role), Some(Role::Bucket(_)));
    let is_lb = |name: &str| {
        matches!(
            t.workload(name).map(|w| &w.role),
            Some(Role::LoadBalancer(_))
        )
    };
    let buckets: std::collections::BTreeSet<&str> = plan
        .workloads
        .iter()
        .map(|w| w.name.as_str())
        .filter(|n| is_bucket(n))
        .collect();
    let balancers: std::collections::BTreeSet<&str> = plan
        .workloads
        .iter()
        .map(|w| w.name.as_str())
        .filter(|n| is_lb(n))
        .collect();
    for w in &plan.workloads {
        let name = &w.name;
        // Buckets have no network interface; a shared load balancer has its own group.
        let tls = matches!(&w.role, Role::LoadBalancer(lb) if lb.tls);
        if buckets.contains(name.as_str()) || (balancers.contains(name.as_str()) && shared_lb) {
            continue;
        }
        let id = w.id.clone();
        let vpc = t.vpc();
        let mut group = json!({
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": cat(&[name, ": accepts traffic only from the components that use it"]),
                "VpcId": vpc,
                "Tags": t.tags(),
            }
        });
        if balancers.contains(name.as_str()) {
            let mut ingress = vec![
                json!({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0", "Description": "HTTP from the internet (redirected to HTTPS when TLS is on)"}),
            ];
            if tls {
                ingress.push(json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "HTTPS from the internet"}));
            }
            group["Properties"]["SecurityGroupIngress"] = json!(ingress);
            group["Metadata"] = skips(&[(
                "CKV_AWS_260",
                "internet-facing load balancer: port 80 only redirects to HTTPS (or serves a landscape declared without TLS)",
            )]);
        }
        t.add(cat(&[&id, "SecurityGroup"]), group);
    }
    for (target, allowed) in &plan.access {
        if buckets.contains(target.as_str()) {
            continue;
        }
        let target_id = t.id(target);
        let served = t.workload(target.as_str()).map(|w| &w.endpoints.aws);
        for a in allowed {
            if buckets.contains(a.from.as_str()) {
                continue;
            }
            let from_id = t.id(&a.from);
            let source = match &plan.instance.shared.load_balancer_security_group {
                Some(sg) if shared_lb && balancers.contains(a.from.as_str()) => json!(sg),
                _ => json!({"Fn::GetAtt": [cat(&[&from_id, "SecurityGroup"]), "GroupId"]}),
            };
            for port in &a.ports {
                // The port the target serves on AWS (Amazon MQ's amqps is 5671).
                let container_port = served
                    .map(|e| e.port_number(&port.name, port.number))
                    .unwrap_or(port.number);
                let (protocol, suffix) = if port.protocol == "udp" {
                    ("udp", "Udp")
                } else {
                    ("tcp", "")
                };
                // An ingress rule goes with the component that connects: it
                // needs the target, which starts earlier, so nested stacks
                // only look back. A load balancer stays in the root, so its
                // rules go with their targets.
                let with = if balancers.contains(a.from.as_str()) {
                    target.as_str()
                } else {
                    a.from.as_str()
                };
                let port_text = container_port.to_string();
                t.add_with(
                    with,
                    cat(&[&target_id, "From", &from_id, "Port", &port_text, suffix]),
                    json!({
                        "Type": "AWS::EC2::SecurityGroupIngress",
                        "Properties": {
                            "GroupId": {"Fn::GetAtt": [cat(&[&target_id, "SecurityGroup"]), "GroupId"]},
                            "SourceSecurityGroupId": &source,
                            "IpProtocol": protocol,
                            "FromPort": container_port,
                            "ToPort": container_port,
                            "Description": cat(&[target, " from ", &a.from, " (", &port.name, ")"]),
                        }
                    }),
                );
            }
        }
    }
}
