//! Load balancers: an internet-facing ALB, HTTPS with an ACM certificate
//! validated through Route53 (HTTP redirects to it), one target group and
//! listener rule per route (longest path first, priorities from the plan),
//! and the DNS record.

use super::cat;
use super::{Template, skips};
use crate::emit::json::{Json, json};
use crate::lower::plan::{LoadBalancer, PriorityOrigin, Route, Workload};

fn route_key(path: &str) -> String {
    let key = crate::lower::pascal(path);
    if key.is_empty() {
        String::from("Root")
    } else {
        key
    }
}

pub(crate) fn target_group_id(lb: &Workload, route: &Route) -> String {
    cat(&[&lb.id, &route_key(&route.path), "TargetGroup"])
}

pub(crate) fn rule_id(lb: &Workload, route: &Route) -> String {
    cat(&[&lb.id, &route_key(&route.path), "Rule"])
}

fn patterns(path: &str) -> Vec<String> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        vec![String::from("/*")]
    } else {
        vec![trimmed.to_string(), cat(&[trimmed, "/*"])]
    }
}

/// The default action of a listener: nothing is routed there unless a rule says so.
fn not_found() -> Json {
    json!([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "not found"}}])
}

pub(crate) fn load_balancer(t: &mut Template, w: &Workload, lb: &LoadBalancer) {
    let id = w.id.clone();
    let persistent = !t.ephemeral();
    let domain = lb.domain.clone();
    if let Some(listener) = t.plan.instance.shared.listener.clone() {
        attach_to_shared(t, w, lb, &listener);
        return;
    }
    let tls = lb.tls;
    let subnets = t.public_subnets();
    let tags = t.tags();
    t.add(
        cat(&[&id, "LoadBalancer"]),
        json!({
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": subnets,
                "SecurityGroups": [{"Fn::GetAtt": [cat(&[&id, "SecurityGroup"]), "GroupId"]}],
                "LoadBalancerAttributes": [
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                    {"Key": "deletion_protection.enabled", "Value": persistent.to_string()},
                ],
                "Tags": tags,
            },
            "Metadata": skips(&[
                ("CKV_AWS_91", "access logs need a log bucket with a bucket policy for the ELB account; the landscape does not declare one"),
                ("CKV2_AWS_28", "a web application firewall is a policy decision outside the landscape; attach one to this load balancer if required"),
                ("CKV_AWS_150", "deletion protection is on in persistent environments and off in ephemeral ones, which must delete themselves"),
            ]),
        }),
    );
    let zone = domain.as_ref().map(|_| {
        t.parameter(
            "HostedZoneId",
            json!({"Type": "AWS::Route53::HostedZone::Id", "Description": "Route53 hosted zone of the landscape's domain names"}),
        )
    });
    let listener = if tls {
        let (Some(domain), Some(zone)) = (&domain, &zone) else {
            return;
        };
        let tags = t.tags();
        t.add(
            cat(&[&id, "Certificate"]),
            json!({
                "Type": "AWS::CertificateManager::Certificate",
                "Properties": {
                    "DomainName": domain,
                    "ValidationMethod": "DNS",
                    "DomainValidationOptions": [{"DomainName": domain, "HostedZoneId": zone}],
                    "Tags": tags,
                }
            }),
        );
        t.add(
            cat(&[&id, "HttpsListener"]),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": cat(&[&id, "LoadBalancer"])},
                    "Port": 443,
                    "Protocol": "HTTPS",
                    "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                    "Certificates": [{"CertificateArn": {"Ref": cat(&[&id, "Certificate"])}}],
                    "DefaultActions": not_found(),
                }
            }),
        );
        t.add(
            cat(&[&id, "HttpListener"]),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": cat(&[&id, "LoadBalancer"])},
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
                }
            }),
        );
        cat(&[&id, "HttpsListener"])
    } else {
        t.add(
            cat(&[&id, "HttpListener"]),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": cat(&[&id, "LoadBalancer"])},
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": not_found(),
                },
                "Metadata": skips(&[("CKV_AWS_2", "the landscape declares this load balancer without TLS (`tls = false`)"), ("CKV_AWS_103", "no TLS on this listener: `tls = false`")]),
            }),
        );
        cat(&[&id, "HttpListener"])
    };
    for route in &lb.routes {
        let tg = target_group(t, w, route);
        t.add_with(
            &route.component,
            rule_id(w, route),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "ListenerArn": {"Ref": &listener},
                    "Priority": route.priority,
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": patterns(&route.path)}}],
                    "Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": tg}}],
                }
            }),
        );
    }
    if let (Some(domain), Some(zone)) = (&domain, zone) {
        t.add(
            cat(&[&id, "DnsRecord"]),
            json!({
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneId": zone,
                    "Name": domain,
                    "Type": "A",
                    "AliasTarget": {
                        "DNSName": {"Fn::GetAtt": [cat(&[&id, "LoadBalancer"]), "DNSName"]},
                        "HostedZoneId": {"Fn::GetAtt": [cat(&[&id, "LoadBalancer"]), "CanonicalHostedZoneID"]},
                    },
                }
            }),
        );
        let scheme = if tls { "https" } else { "http" };
        t.outputs.insert(cat(&[&id, "Url"]), json!({"Description": format!("{} URL", w.name), "Value": format!("{scheme}://{domain}")}));
    } else {
        t.outputs.insert(
            cat(&[&id, "Url"]),
            json!({"Description": format!("{} URL", w.name), "Value": {"Fn::Join": ["", ["http://", {"Fn::GetAtt": [cat(&[&id, "LoadBalancer"]), "DNSName"]}]]}}),
        );
    }
}

/// Routes on a long-lived listener shared by many environments: rules match
/// the environment's host name (and path), with this instance's priorities;
/// the DNS name points at the shared load balancer. (Lowering checked that
/// the domain and the shared load balancer's DNS name are given.)
fn attach_to_shared(t: &mut Template, w: &Workload, lb: &LoadBalancer, listener: &str) {
    let (Some(domain), Some(dns)) = (
        lb.domain.clone(),
        t.plan.instance.shared.load_balancer_dns.clone(),
    ) else {
        return;
    };
    for route in &lb.routes {
        let tg = target_group(t, w, route);
        t.add_with(
            &route.component,
            rule_id(w, route),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "ListenerArn": listener,
                    "Priority": route.priority,
                    "Conditions": [
                        {"Field": "host-header", "HostHeaderConfig": {"Values": [&domain]}},
                        {"Field": "path-pattern", "PathPatternConfig": {"Values": patterns(&route.path)}},
                    ],
                    "Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": tg}}],
                }
            }),
        );
    }
    let zone = t.parameter(
        "HostedZoneId",
        json!({"Type": "AWS::Route53::HostedZone::Id", "Description": "Route53 hosted zone of the landscape's domain names"}),
    );
    t.add(
        format!("{}DnsRecord", w.id),
        json!({
            "Type": "AWS::Route53::RecordSet",
            "Properties": {"HostedZoneId": zone, "Name": &domain, "Type": "CNAME", "TTL": "60", "ResourceRecords": [dns]}
        }),
    );
    t.outputs.insert(
        format!("{}Url", w.id),
        json!({"Description": format!("{} URL", w.name), "Value": format!("https://{domain}")}),
    );
    if let Some(p) = &lb.priorities {
        let origin = match p.origin {
            PriorityOrigin::HostHash => format!("derived from the host name {}", p.host),
            PriorityOrigin::Set => {
                String::from("set by the environment's shared.listener_priority")
            }
        };
        let range = if p.first == p.last {
            p.first.to_string()
        } else {
            format!("{}-{}", p.first, p.last)
        };
        t.outputs.insert(
            format!("{}RulePriorities", w.id),
            json!({"Description": format!("Priorities of {}'s rules on the shared listener ({origin}); if another stack holds one, set shared.listener_priority to a free block", w.name), "Value": range}),
        );
    }
}

/// The target group of one route, probed as the plan says.
fn target_group(t: &mut Template, lb: &Workload, route: &Route) -> String {
    let vpc = t.vpc();
    let tg = target_group_id(lb, route);
    let tags = t.tags();
    let h = &route.health;
    t.add_with(
        &route.component,
        tg.clone(),
        json!({
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "TargetType": "ip",
                "Protocol": "HTTP",
                "Port": route.port,
                "VpcId": vpc,
                "HealthCheckPath": &h.path,
                "HealthCheckIntervalSeconds": h.interval_s,
                "HealthCheckTimeoutSeconds": h.timeout_s,
                "HealthyThresholdCount": h.healthy,
                "UnhealthyThresholdCount": h.unhealthy,
                "Matcher": {"HttpCode": "200-399"},
                "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
                "Tags": tags,
            }
        }),
    );
    tg
}
