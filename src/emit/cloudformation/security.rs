//! Security groups from the graph's least-privilege facts: one group per
//! component; ingress only from the groups of the components that reference
//! it, on the ports they use. Internet-facing load balancers alone accept
//! traffic from anywhere, on 80 (redirected) and 443.

use super::{Realisation, Template, skips};
use serde_json::json;

pub(crate) fn security_groups(t: &mut Template) {
    let access = crate::graph::access(t.ctx.graph);
    let components: Vec<(String, Realisation, bool)> = t
        .ctx
        .landscape
        .components
        .iter()
        .map(|c| {
            let tls = !matches!(c.params.get("tls"), Some(crate::model::Value::Bool(false)));
            (c.name.clone(), t.realisation[&c.name], tls)
        })
        .collect();
    let shared_lb = t.shared("listener").is_some();
    for (name, realisation, tls) in &components {
        // Buckets have no network interface; a shared load balancer has its own group.
        if *realisation == Realisation::Bucket
            || (*realisation == Realisation::LoadBalancer && shared_lb)
        {
            continue;
        }
        let id = t.id(name);
        let vpc = t.vpc();
        let mut group = json!({
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": format!("{name}: accepts traffic only from the components that use it"),
                "VpcId": vpc,
                "Tags": t.tags(),
            }
        });
        if *realisation == Realisation::LoadBalancer {
            let mut ingress = vec![
                json!({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0", "Description": "HTTP from the internet (redirected to HTTPS when TLS is on)"}),
            ];
            if *tls {
                ingress.push(json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "HTTPS from the internet"}));
            }
            group["Properties"]["SecurityGroupIngress"] = json!(ingress);
            group["Metadata"] = skips(&[(
                "CKV_AWS_260",
                "internet-facing load balancer: port 80 only redirects to HTTPS (or serves a landscape declared without TLS)",
            )]);
        }
        t.add(format!("{id}SecurityGroup"), group);
    }
    for (target, allowed) in access {
        if t.realisation.get(&target) == Some(&Realisation::Bucket) {
            continue;
        }
        let target_id = t.id(&target);
        for a in allowed {
            if t.realisation.get(&a.from) == Some(&Realisation::Bucket) {
                continue;
            }
            let from_id = t.id(&a.from);
            let source = match (
                t.realisation.get(&a.from),
                t.shared("load_balancer_security_group"),
            ) {
                (Some(Realisation::LoadBalancer), Some(sg)) if shared_lb => json!(sg),
                _ => json!({"Fn::GetAtt": [format!("{from_id}SecurityGroup"), "GroupId"]}),
            };
            for port in &a.ports {
                let container_port = port.number;
                t.add(
                    format!("{target_id}From{from_id}Port{container_port}"),
                    json!({
                        "Type": "AWS::EC2::SecurityGroupIngress",
                        "Properties": {
                            "GroupId": {"Fn::GetAtt": [format!("{target_id}SecurityGroup"), "GroupId"]},
                            "SourceSecurityGroupId": source,
                            "IpProtocol": "tcp",
                            "FromPort": container_port,
                            "ToPort": container_port,
                            "Description": format!("{} from {} ({})", target, a.from, port.name),
                        }
                    }),
                );
            }
        }
    }
}
