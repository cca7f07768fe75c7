//! The HAProxy configuration of a `load_balancer` on compose: one frontend on
//! the load balancer's `http` port, one backend per route (longest path prefix
//! first), each backend finding the replicas of its target through Docker's
//! DNS. Route paths and health paths are checked before they are written,
//! unquoted: they come from `.bom` files and must not change the structure of
//! the configuration.

use super::Emit;
use crate::check::types::url_path_char;
use crate::diag::{Diagnostic, ErrorCode};
use crate::emit::yaml::one_line;
use crate::lower::plan::{Check, LoadBalancer, Route, Workload};
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

/// A health path as `option httpchk` sends it, written unquoted: whatever a
/// health check's path may hold (`check::types::url_path_char`: no white
/// space, `"`, `#` or `\`; HAProxy reads `$` as itself outside double
/// quotes, and a query as part of the URI), each `'` escaped ([`unquoted`]).
/// A route path stays within [`safe_path`]: it is a prefix that ALB rules
/// read with `*` and `?` as wildcards.
fn safe_health_path(path: &str) -> bool {
    path.starts_with('/') && path.chars().all(url_path_char)
}

/// `path` as HAProxy's configuration reads it outside quotes: `\'` is a
/// `'` there, where a bare one opens a quoted string (HAProxy's
/// configuration manual, "Quoting and escaping").
fn unquoted(path: &str) -> String {
    path.replace('\'', "\\'")
}

fn path_error(lb: &Workload, what: &str, path: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NameNotValid,
        format!(
            "{what} `{}` of `{}` cannot be written into the HAProxy configuration",
            path.escape_debug(),
            lb.name
        ),
    )
    .label(lb.name_span, "in this load balancer")
    .help(help)
}

/// The routes of load balancer `w` (its plan `lb`) that can be written,
/// each with its target and the HTTP health check HAProxy makes on it,
/// and why any route cannot: its path, or its target's health path.
fn routes<'e>(
    emit: &'e Emit,
    w: &Workload,
    lb: &'e LoadBalancer,
) -> (Vec<Backend<'e>>, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    // The plan's routes come longest prefix first: HAProxy takes the first
    // matching rule.
    let mut routes = Vec::new();
    for r in &lb.routes {
        let Some(target) = emit.workloads.get(r.component.as_str()) else {
            continue;
        };
        if !safe_path(&r.path) {
            errors.push(path_error(
                w,
                "route path",
                &r.path,
                "route paths start with `/` and use letters, digits and `/._~%+-:@,;=` only",
            ));
            continue;
        }
        routes.push((r, *target));
    }
    // The health paths' mistakes come after the route paths', route by route.
    let backends = routes
        .into_iter()
        .map(|(route, target)| {
            let check = match target.health.as_ref().map(|h| &h.check) {
                Some(Check::Http { port, path }) if safe_health_path(path) => {
                    Some((path.as_str(), *port))
                }
                Some(Check::Http { path, .. }) => {
                    errors.push(path_error(
                        w,
                        &format!("health path of route target `{}`", target.name),
                        path,
                        "a health path starts with `/` and holds URL characters only (see E0304)",
                    ));
                    None
                }
                _ => None,
            };
            Backend {
                route,
                target,
                check,
            }
        })
        .collect();
    (backends, errors)
}

/// One route as HAProxy serves it.
struct Backend<'e> {
    route: &'e Route,
    target: &'e Workload,
    /// The target's HTTP health check: path and port.
    check: Option<(&'e str, u16)>,
}

/// Why the configuration of load balancer `w` (its plan `lb`) cannot be
/// written, without writing it: what `check` asks.
pub fn errors(emit: &Emit, w: &Workload, lb: &LoadBalancer) -> Vec<Diagnostic> {
    routes(emit, w, lb).1
}

/// The configuration text of load balancer `w` (its plan `lb`), or why it
/// cannot be written.
pub fn config(emit: &Emit, w: &Workload, lb: &LoadBalancer) -> Result<String, Vec<Diagnostic>> {
    let (routes, errors) = routes(emit, w, lb);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = String::new();
    let _ = writeln!(out, "# {}", one_line(&emit.plan.instance.header));
    let _ = writeln!(
        out,
        "# HAProxy for load balancer `{}`: the longest matching path prefix wins.",
        w.name
    );
    if lb.tls {
        let domain = lb.domain.as_deref().unwrap_or("its domain");
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
    let _ = writeln!(out, "frontend http\n    bind :{}", lb.http_port);
    for (i, b) in routes.iter().enumerate() {
        let _ = writeln!(
            out,
            "    acl route{i} path_beg {}\n    use_backend route{i} if route{i}",
            b.route.path
        );
    }
    for (i, b) in routes.iter().enumerate() {
        let _ = writeln!(out, "\nbackend route{i}");
        // The target's HTTP health check, on its own port when it is another one.
        let mut check_port = String::new();
        if let Some((path, port)) = b.check {
            let _ = writeln!(out, "    option httpchk GET {}", unquoted(path));
            if port != b.route.port {
                check_port = format!(" port {port}");
            }
        }
        // `server-template` takes 1 to 1000 servers.
        let replicas = b.target.replicas.clamp(1, 1000);
        let _ = writeln!(
            out,
            "    server-template srv {replicas} {}:{} check{check_port} resolvers docker init-addr none",
            b.target.name, b.route.port
        );
    }
    Ok(out)
}
