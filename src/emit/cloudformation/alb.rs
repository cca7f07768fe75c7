//! Load balancers: an internet-facing ALB, HTTPS with an ACM certificate
//! validated through Route53 (HTTP redirects to it), one target group and
//! listener rule per route (longest path first), and the DNS record.

use super::{Template, skips};
use crate::model::{Component, Value};
use serde_json::json;

fn route_key(path: &str) -> String {
    let key = crate::lower::pascal(path);
    if key.is_empty() {
        String::from("Root")
    } else {
        key
    }
}

pub(crate) fn target_group_id(t: &Template, lb: &str, path: &str) -> String {
    format!("{}{}TargetGroup", t.id(lb), route_key(path))
}

pub(crate) fn rule_id(t: &Template, lb: &str, path: &str) -> String {
    format!("{}{}Rule", t.id(lb), route_key(path))
}

/// Routes in rule order: longer (more specific) paths first, then by path.
fn routes(c: &Component) -> Vec<(String, crate::model::PortRef)> {
    let mut out: Vec<(String, crate::model::PortRef)> = match c.params.get("routes") {
        Some(Value::Map(m)) => m
            .iter()
            .filter_map(|(path, v)| match v {
                Value::Port(p) => Some((path.clone(), p.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    out.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    out
}

fn patterns(path: &str) -> Vec<String> {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        vec![String::from("/*")]
    } else {
        vec![trimmed.to_string(), format!("{trimmed}/*")]
    }
}

/// The default action of a listener: nothing is routed there unless a rule says so.
fn not_found() -> serde_json::Value {
    json!([{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "not found"}}])
}

/// Listener-rule priorities: each instance of a landscape gets its own band of
/// 50 (by its port block), so instances attached to one listener never collide.
fn rule_priority(t: &Template, index: usize) -> u64 {
    u64::from(t.ctx.port_block) * 50 + index as u64 + 1
}

pub(crate) fn load_balancer(t: &mut Template, c: &Component) {
    let id = t.id(&c.name);
    let persistent = !t.ephemeral();
    let domain = c
        .params
        .get("domain")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    if let Some(d) = &domain
        && !super::valid_dns_name(d)
    {
        t.errors.push(
            crate::diag::Diagnostic::new(crate::diag::ErrorCode::NameNotValid, format!("`{d}` is not a valid DNS name for `{}`", c.name))
                .label(c.name_span, "its `domain`")
                .help("DNS names are labels of letters, digits and `-` separated by dots; check the parameters that build the domain (e.g. `--set id=us-217`)"),
        );
        return;
    }
    if let Some(listener) = t.shared("listener").map(String::from) {
        attach_to_shared(t, c, &listener, domain.as_deref());
        return;
    }
    let tls = !matches!(c.params.get("tls"), Some(Value::Bool(false))) && domain.is_some();
    let subnets = t.public_subnets();
    let tags = t.tags();
    t.add(
        format!("{id}LoadBalancer"),
        json!({
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": subnets,
                "SecurityGroups": [{"Fn::GetAtt": [format!("{id}SecurityGroup"), "GroupId"]}],
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
            format!("{id}Certificate"),
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
            format!("{id}HttpsListener"),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": format!("{id}LoadBalancer")},
                    "Port": 443,
                    "Protocol": "HTTPS",
                    "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
                    "Certificates": [{"CertificateArn": {"Ref": format!("{id}Certificate")}}],
                    "DefaultActions": not_found(),
                }
            }),
        );
        t.add(
            format!("{id}HttpListener"),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": format!("{id}LoadBalancer")},
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
                }
            }),
        );
        format!("{id}HttpsListener")
    } else {
        t.add(
            format!("{id}HttpListener"),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": format!("{id}LoadBalancer")},
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": not_found(),
                },
                "Metadata": skips(&[("CKV_AWS_2", "the landscape declares this load balancer without TLS (`tls = false`)"), ("CKV_AWS_103", "no TLS on this listener: `tls = false`")]),
            }),
        );
        format!("{id}HttpListener")
    };
    for (priority, (path, port)) in routes(c).into_iter().enumerate() {
        let tg = target_group(t, c, &path, &port);
        t.add(
            rule_id(t, &c.name, &path),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "ListenerArn": {"Ref": listener},
                    "Priority": rule_priority(t, priority),
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": patterns(&path)}}],
                    "Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": tg}}],
                }
            }),
        );
    }
    if let (Some(domain), Some(zone)) = (&domain, zone) {
        t.add(
            format!("{id}DnsRecord"),
            json!({
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "HostedZoneId": zone,
                    "Name": domain,
                    "Type": "A",
                    "AliasTarget": {
                        "DNSName": {"Fn::GetAtt": [format!("{id}LoadBalancer"), "DNSName"]},
                        "HostedZoneId": {"Fn::GetAtt": [format!("{id}LoadBalancer"), "CanonicalHostedZoneID"]},
                    },
                }
            }),
        );
        let scheme = if tls { "https" } else { "http" };
        t.outputs.insert(format!("{id}Url"), json!({"Description": format!("{} URL", c.name), "Value": format!("{scheme}://{domain}")}));
    } else {
        t.outputs.insert(
            format!("{id}Url"),
            json!({"Description": format!("{} URL", c.name), "Value": {"Fn::Join": ["", ["http://", {"Fn::GetAtt": [format!("{id}LoadBalancer"), "DNSName"]}]]}}),
        );
    }
}

/// Routes on a long-lived listener shared by many environments: rules match
/// the environment's host name (and path), with this instance's priorities;
/// the DNS name points at the shared load balancer.
fn attach_to_shared(t: &mut Template, c: &Component, listener: &str, domain: Option<&str>) {
    let Some(domain) = domain else {
        t.errors.push(
            crate::diag::Diagnostic::new(
                crate::diag::ErrorCode::MissingSetting,
                format!("`{}` attaches to a shared listener but has no `domain`", c.name),
            )
            .label(c.name_span, "needs a domain")
            .help("routes on a shared listener are told apart by host name: give the load balancer a `domain`"),
        );
        return;
    };
    let Some(dns) = t.shared("load_balancer_dns").map(String::from) else {
        t.errors.push(
            crate::diag::Diagnostic::new(
                crate::diag::ErrorCode::MissingSetting,
                "`shared` names a listener but not `load_balancer_dns`",
            )
            .label(c.name_span, "routes go to the shared listener")
            .help("add `load_balancer_dns` and `load_balancer_security_group` of the shared load balancer to the environment's `shared { … }`"),
        );
        return;
    };
    let id = t.id(&c.name);
    for (index, (path, port)) in routes(c).into_iter().enumerate() {
        let tg = target_group(t, c, &path, &port);
        t.add(
            rule_id(t, &c.name, &path),
            json!({
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "ListenerArn": listener,
                    "Priority": rule_priority(t, index),
                    "Conditions": [
                        {"Field": "host-header", "HostHeaderConfig": {"Values": [domain]}},
                        {"Field": "path-pattern", "PathPatternConfig": {"Values": patterns(&path)}},
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
        format!("{id}DnsRecord"),
        json!({
            "Type": "AWS::Route53::RecordSet",
            "Properties": {"HostedZoneId": zone, "Name": domain, "Type": "CNAME", "TTL": "60", "ResourceRecords": [dns]}
        }),
    );
    t.outputs.insert(
        format!("{id}Url"),
        json!({"Description": format!("{} URL", c.name), "Value": format!("https://{domain}")}),
    );
}

/// The target group of one route, health-checked as the landscape says.
fn target_group(
    t: &mut Template,
    c: &Component,
    path: &str,
    port: &crate::model::PortRef,
) -> String {
    let by_name: std::collections::BTreeMap<&str, &Component> = t
        .ctx
        .landscape
        .components
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let health = by_name.get(port.component.as_str()).and_then(|target| {
        match target.settings.get("health") {
            Some(Value::Map(h)) => Some(h.clone()),
            _ => None,
        }
    });
    let health_path = health
        .as_ref()
        .and_then(|h| h.get("path"))
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_string();
    let interval = crate::lower::seconds(health.as_ref().and_then(|h| h.get("interval")))
        .unwrap_or(30)
        .clamp(5, 300);
    let healthy = health
        .as_ref()
        .and_then(|h| h.get("healthy"))
        .and_then(Value::as_int)
        .unwrap_or(2)
        .clamp(2, 10);
    let unhealthy = health
        .as_ref()
        .and_then(|h| h.get("unhealthy"))
        .and_then(Value::as_int)
        .unwrap_or(3)
        .clamp(2, 10);
    let timeout = crate::lower::seconds(health.as_ref().and_then(|h| h.get("timeout")))
        .unwrap_or(5)
        .clamp(2, 120)
        .min(interval.saturating_sub(1).max(2));
    let vpc = t.vpc();
    let tg = target_group_id(t, &c.name, path);
    let tags = t.tags();
    t.add(
        tg.clone(),
        json!({
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "TargetType": "ip",
                "Protocol": "HTTP",
                "Port": port.number,
                "VpcId": vpc,
                "HealthCheckPath": health_path,
                "HealthCheckIntervalSeconds": interval,
                "HealthCheckTimeoutSeconds": timeout,
                "HealthyThresholdCount": healthy,
                "UnhealthyThresholdCount": unhealthy,
                "Matcher": {"HttpCode": "200-399"},
                "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
                "Tags": tags,
            }
        }),
    );
    tg
}
