//! The HAProxy configuration of a `load_balancer` on compose: one frontend on
//! the load balancer's `http` port, one backend per route (longest path prefix
//! first), each backend finding the replicas of its target through Docker's
//! DNS. Route paths and health paths are checked against a conservative
//! character set before they are written: they come from `.bom` files and must
//! not change the structure of the configuration.

use crate::diag::{Diagnostic, ErrorCode};
use crate::emit::yaml::one_line;
use crate::model::{Component, Landscape, Value};
use std::fmt::Write;

/// Where the official image reads its configuration.
pub const CONFIG_PATH: &str = "/usr/local/etc/haproxy/haproxy.cfg";

/// Characters a path may contain to be written into the configuration
/// unquoted: no white space, quotes, `#`, `\` or `$`.
fn safe_path(path: &str) -> bool {
    path.starts_with('/')
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._~%+-:@,;=".contains(c))
}

fn path_error(lb: &Component, what: &str, path: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NameNotValid,
        format!(
            "{what} `{}` of `{}` cannot be written into the HAProxy configuration",
            path.escape_debug(),
            lb.name
        ),
    )
    .label(lb.name_span, "in this load balancer")
    .help("paths start with `/` and use letters, digits and `/._~%+-:@,;=` only")
}

struct Route<'a> {
    path: &'a str,
    target: &'a Component,
    port: u16,
}

/// The configuration text, or why it cannot be written.
pub fn config(
    header: &str,
    lb: &Component,
    landscape: &Landscape,
    listen: u16,
) -> Result<String, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut routes = Vec::new();
    if let Some(Value::Map(map)) = lb.params.get("routes") {
        for (path, target) in map {
            let Value::Port(port) = target else { continue };
            let Some(component) = landscape.component(&port.component) else {
                continue;
            };
            if !safe_path(path) {
                errors.push(path_error(lb, "route path", path));
                continue;
            }
            routes.push(Route {
                path,
                target: component,
                port: port.number,
            });
        }
    }
    // The longest prefix wins: HAProxy takes the first matching rule.
    routes.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.path.cmp(b.path)));

    let mut out = String::new();
    let _ = writeln!(out, "# {}", one_line(header));
    let _ = writeln!(
        out,
        "# HAProxy for load balancer `{}`: the longest matching path prefix wins.",
        lb.name
    );
    if matches!(lb.params.get("tls"), Some(Value::Bool(true))) {
        let domain = lb
            .params
            .get("domain")
            .and_then(Value::as_str)
            .unwrap_or("its domain");
        let _ = writeln!(
            out,
            "# TLS for {} is terminated by the cloud load balancer; on compose this one serves HTTP.",
            one_line(domain)
        );
    }
    out.push_str(
        "global\n    log stdout format raw local0 info\n\n\
         defaults\n    mode http\n    log global\n    option httplog\n    option dontlognull\n    \
         timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n\n\
         resolvers docker\n    nameserver docker 127.0.0.11:53\n    hold valid 10s\n\n",
    );
    let _ = writeln!(out, "frontend http\n    bind :{listen}");
    for (i, r) in routes.iter().enumerate() {
        let _ = writeln!(
            out,
            "    acl route{i} path_beg {}\n    use_backend route{i} if route{i}",
            r.path
        );
    }
    for (i, r) in routes.iter().enumerate() {
        let _ = writeln!(out, "\nbackend route{i}");
        let health = r.target.setting("health").and_then(Value::as_map);
        if let Some(path) = health.and_then(|h| h.get("path")).and_then(Value::as_str) {
            if safe_path(path) {
                let _ = writeln!(out, "    option httpchk GET {path}");
            } else {
                errors.push(path_error(
                    lb,
                    &format!("health path of route target `{}`", r.target.name),
                    path,
                ));
            }
        }
        // Health checks go to the health check's port when it is another one.
        let check_port = health
            .filter(|h| h.contains_key("path"))
            .and_then(|h| h.get("port"))
            .and_then(Value::as_str)
            .and_then(|name| r.target.ports().get(name).copied())
            .filter(|p| *p != i64::from(r.port))
            .map(|p| format!(" port {p}"))
            .unwrap_or_default();
        let replicas = r
            .target
            .setting("replicas")
            .and_then(Value::as_int)
            .unwrap_or(1)
            .clamp(1, 1000);
        let _ = writeln!(
            out,
            "    server-template srv {replicas} {}:{} check{check_port} resolvers docker init-addr none",
            r.target.name, r.port
        );
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
