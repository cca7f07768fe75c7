//! Types of settings and parameters, and whether an evaluated value conforms.

use super::schema::Schema;
use crate::model::Value;

/// The type of a setting or parameter. Built-in schemas use the refined types
/// (`PortNumber`, `Count`…), which carry their range checks.
#[derive(Debug, PartialEq)]
pub enum Type {
    Str,
    Int,
    Float,
    Bool,
    Duration,
    Size,
    Secret,
    Port,
    Image,
    Component,
    Any,
    /// What an environment variable may hold: any scalar, a secret or a reference.
    EnvValue,
    List(&'static Type),
    Map(&'static Type),
    Record(&'static Schema),
    OneOf(&'static [&'static str]),
    /// An int in 1–65535.
    PortNumber,
    /// A port number (TCP), or `"PORT/PROTO"` with `tcp` or `udp`.
    PortSpec,
    /// A compose host port: a number, or `"IP:PORT"` to bind one address.
    HostPort,
    /// A compose restart policy: `no`, `always`, `on-failure`,
    /// `on-failure:N` or `unless-stopped`.
    RestartPolicy,
    /// A command: a string run by the shell, or a list run as is.
    CommandLine,
    /// A path on the host, relative to the `.bom` file that writes it; it
    /// must exist (the evaluator checks and rebases it).
    HostPath,
    /// `tmpfs = true`, or its size.
    Tmpfs,
    /// An ulimit: a number ≥ 0 or -1 (unlimited), or a `{ soft, hard }` block.
    Ulimit,
    /// A string, a number or a boolean.
    Scalar,
    /// An int ≥ 0.
    NonNegative,
    /// An int ≥ 1.
    Count,
    /// A float > 0.
    PositiveFloat,
    /// A duration > 0.
    PositiveDuration,
    /// A string starting with `/`.
    HttpPath,
    /// A pinned image reference or an image definition.
    BaseImage,
    /// A numeric user id, 1–2147483647 (non-root).
    UserId,
    /// A published image reference with a pinned tag or digest.
    ImageRef,
    /// A listener-rule priority, 1–50000, or 0 for "derive it".
    ListenerPriority,
    /// An IPv4 CIDR block for a VPC, /16 to /24.
    VpcCidr,
    /// An int in a closed range.
    Between(i64, i64),
}

impl Type {
    /// How the type is named in messages.
    pub fn describe(&self) -> String {
        match self {
            Type::Str => "a string".into(),
            Type::Int => "an integer".into(),
            Type::Float => "a float".into(),
            Type::Bool => "a boolean".into(),
            Type::Duration => "a duration".into(),
            Type::Size => "a size".into(),
            Type::Secret => "a secret".into(),
            Type::Port => "a port reference".into(),
            Type::Image => "an image".into(),
            Type::Component => "a component".into(),
            Type::Any => "any value".into(),
            Type::EnvValue => "a string, number, boolean, secret or reference".into(),
            Type::List(t) => format!("a list of {}", plural(t)),
            Type::Map(t) => format!("a map of {}", plural(t)),
            Type::Record(s) => format!("a {} block", s.what),
            Type::OneOf(opts) => format!("one of {}", crate::diag::one_of(opts)),
            Type::PortNumber => "a port number (1–65535)".into(),
            Type::PortSpec => "a port number, or \"PORT/PROTO\" with tcp or udp".into(),
            Type::HostPort => "a host port, or \"IP:PORT\"".into(),
            Type::RestartPolicy => "a restart policy".into(),
            Type::CommandLine => "a command: a string (run by the shell) or a list".into(),
            Type::HostPath => "a path on the host".into(),
            Type::Tmpfs => "`true` or a size".into(),
            Type::Ulimit => "a limit, or a `{ soft, hard }` block".into(),
            Type::Scalar => "a string, number or boolean".into(),
            Type::NonNegative => "an integer ≥ 0".into(),
            Type::Count => "an integer ≥ 1".into(),
            Type::PositiveFloat => "a number > 0".into(),
            Type::PositiveDuration => "a duration > 0".into(),
            Type::HttpPath => "an HTTP path: `/`, then URL characters".into(),
            Type::BaseImage => "a pinned image reference or an image definition".into(),
            Type::UserId => "a numeric non-root user id".into(),
            Type::ImageRef => "an image reference with a pinned version".into(),
            Type::ListenerPriority => "a listener-rule priority (1–50000, or 0)".into(),
            Type::VpcCidr => "an IPv4 CIDR block from /16 to /24".into(),
            Type::Between(lo, hi) => format!("an integer from {lo} to {hi}"),
        }
    }

    /// The element type of a list or map type.
    pub fn element(&self) -> Option<&'static Type> {
        match self {
            Type::List(t) | Type::Map(t) => Some(t),
            Type::Any => Some(&Type::Any),
            _ => None,
        }
    }
}

fn plural(t: &Type) -> String {
    let s = t.describe();
    let s = s
        .strip_prefix("a ")
        .or_else(|| s.strip_prefix("an "))
        .unwrap_or(&s);
    format!("{s}s").replace("ss ", "s ")
}

/// Why a value does not conform: the error code and the parts of the message.
#[derive(Debug, PartialEq)]
pub enum Mismatch {
    /// Wrong shape: expected X, found Y.
    Type {
        expected: String,
        found: &'static str,
    },
    /// A secret where a plain value is required.
    Secret { expected: String },
    /// The right type but outside the allowed range or set.
    Range { expected: String, help: String },
    /// A value outside a fixed set of choices.
    NotAllowed { expected: String, help: String },
    /// An image reference without a pinned tag or digest.
    Unpinned { reference: String },
}

/// The restart policies compose knows.
pub const RESTART_POLICIES: &[&str] = &["no", "always", "on-failure", "unless-stopped"];

/// Whether `text` is a compose restart policy (`on-failure:N` with N ≥ 1 too).
pub fn is_restart_policy(text: &str) -> bool {
    RESTART_POLICIES.contains(&text)
        || text
            .strip_prefix("on-failure:")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n >= 1)
}

/// A compose host port: `8080`, or `"127.0.0.1:8080"`. Returns the address
/// (if any) and the port.
pub fn host_port(value: &Value) -> Option<(Option<String>, u16)> {
    match value {
        Value::Int(n) => Some((None, u16::try_from(*n).ok().filter(|p| *p > 0)?)),
        Value::String(s) => {
            let (ip, port) = s.rsplit_once(':')?;
            let ip: std::net::IpAddr = ip
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .ok()?;
            let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
            Some((Some(ip.to_string()), port))
        }
        _ => None,
    }
}

/// Images whose releases are numbered `MAJOR.MINOR` (PostgreSQL since 10,
/// Debian point releases): two numbers are a full version there.
const TWO_PART_VERSIONS: &[&str] = &["postgres", "debian"];

/// Whether an image reference names a fixed version: a digest, or a tag
/// with a full version — `MAJOR.MINOR.PATCH` (`v` before it, anything after
/// it: `7.2.4-alpine`, `v1.21.8`), `MAJOR.MINOR` for images numbered so
/// (`postgres:16.4`, `debian:12.5-slim`) — or a date stamp
/// (`RELEASE.2024-03-15T01-07-19Z`, `bookworm-20240311`). `nginx`,
/// `ruby:2.5`, `node:lts-buster-slim` and `latest` float.
pub fn is_pinned(reference: &str) -> bool {
    if reference.contains("@sha256:") {
        return true;
    }
    let name = reference.rsplit('/').next().unwrap_or(reference);
    let Some((repo, tag)) = name.split_once(':') else {
        return false;
    };
    let numbers: Vec<&str> = tag
        .strip_prefix('v')
        .unwrap_or(tag)
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or("")
        .split('.')
        .take_while(|p| !p.is_empty())
        .collect();
    let needed = if TWO_PART_VERSIONS.contains(&repo) {
        2
    } else {
        3
    };
    let digits: String = tag.chars().filter(char::is_ascii_digit).collect();
    let dated = tag
        .split(|c: char| !c.is_ascii_digit() && c != '-')
        .any(|run| {
            let d: String = run.chars().filter(char::is_ascii_digit).collect();
            d.len() >= 8 && (d.starts_with("19") || d.starts_with("20"))
        });
    !repo.is_empty() && (numbers.len() >= needed || (dated && digits.len() >= 8))
}

/// An IPv4 CIDR block a VPC can take and bomc can cut into four subnets:
/// `a.b.c.d/n`, 16 ≤ n ≤ 24, no host bits set. Returns the address and prefix.
pub fn vpc_cidr(text: &str) -> Option<(u32, u32)> {
    let (address, prefix) = text.split_once('/')?;
    let prefix: u32 = prefix.parse().ok()?;
    if !(16..=24).contains(&prefix) {
        return None;
    }
    let octets: Vec<u32> = address
        .split('.')
        .map(|o| {
            if o.is_empty() || o.len() > 3 || !o.chars().all(|c| c.is_ascii_digit()) {
                None
            } else {
                o.parse().ok().filter(|n| *n <= 255)
            }
        })
        .collect::<Option<Vec<u32>>>()?;
    if octets.len() != 4 {
        return None;
    }
    let address = octets.iter().fold(0u32, |a, o| (a << 8) | o);
    (address & ((1u32 << (32 - prefix)) - 1) == 0).then_some((address, prefix))
}

fn range_int(v: &Value, ok: impl Fn(i64) -> bool, ty: &Type, help: &str) -> Result<(), Mismatch> {
    match v {
        Value::Int(i) if ok(*i) => Ok(()),
        Value::Int(_) => Err(Mismatch::Range {
            expected: ty.describe(),
            help: help.to_string(),
        }),
        other => Err(mismatch(ty, other)),
    }
}

fn mismatch(ty: &Type, found: &Value) -> Mismatch {
    if matches!(found, Value::Secret(_)) {
        Mismatch::Secret {
            expected: ty.describe(),
        }
    } else {
        Mismatch::Type {
            expected: ty.describe(),
            found: found.describe(),
        }
    }
}

/// Whether `value` conforms to `ty`. Lists and maps are checked element by
/// element; records are checked by the evaluator, which knows their spans.
pub fn conform(value: &Value, ty: &Type) -> Result<(), Mismatch> {
    let ok = match (ty, value) {
        (Type::Any, _) => true,
        (Type::Str, Value::String(_) | Value::Template(_) | Value::Host(_)) => true,
        (Type::Int, Value::Int(_)) => true,
        (Type::Float, Value::Float(_) | Value::Int(_)) => true,
        (Type::Bool, Value::Bool(_)) => true,
        (Type::Duration, Value::Duration(_)) => true,
        (Type::Size, Value::Size(_)) => true,
        (Type::Secret, Value::Secret(_)) => true,
        (Type::Port, Value::Port(_)) => true,
        (Type::Image, Value::Image(_)) => true,
        (Type::Component, Value::Component(_)) => true,
        (
            Type::EnvValue,
            Value::String(_)
            | Value::Template(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Bool(_)
            | Value::Secret(_)
            | Value::Host(_)
            | Value::Port(_),
        ) => true,
        (Type::List(t), Value::List(items)) => {
            return items.iter().try_for_each(|i| conform(i, t));
        }
        (Type::Map(t), Value::Map(items)) => {
            // A `null` entry is a removal, settled when maps are merged.
            return items
                .values()
                .filter(|i| **i != Value::Null)
                .try_for_each(|i| conform(i, t));
        }
        (Type::Record(_), Value::Map(_)) => true,
        (Type::OneOf(options), Value::String(s)) => {
            if options.contains(&s.as_str()) {
                true
            } else {
                let help = match crate::diag::suggest(s, options.iter().copied()) {
                    Some(s) => format!("did you mean `\"{s}\"`?"),
                    None => format!("use {}", crate::diag::one_of(options)),
                };
                return Err(Mismatch::NotAllowed {
                    expected: ty.describe(),
                    help,
                });
            }
        }
        (Type::PortNumber, v) => {
            return range_int(
                v,
                |i| (1..=65535).contains(&i),
                ty,
                "ports are numbered 1 to 65535",
            );
        }
        (Type::PortSpec, Value::String(_)) => {
            return match crate::model::port_spec(value) {
                Some((n, _)) if (1..=65535).contains(&n) => Ok(()),
                Some(_) => Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: String::from("ports are numbered 1 to 65535"),
                }),
                None => Err(mismatch(ty, value)),
            };
        }
        (Type::PortSpec, v) => {
            return range_int(
                v,
                |i| (1..=65535).contains(&i),
                ty,
                "ports are numbered 1 to 65535",
            );
        }
        (Type::HostPort, Value::Int(_) | Value::String(_)) => {
            return match host_port(value) {
                Some(_) => Ok(()),
                None => Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: String::from(
                        "write the host port (`http = 8080`), or an address and a port: `http = \"127.0.0.1:8080\"`",
                    ),
                }),
            };
        }
        (Type::RestartPolicy, Value::String(s)) => {
            if is_restart_policy(s) {
                true
            } else {
                return Err(Mismatch::NotAllowed {
                    expected: ty.describe(),
                    help: String::from(
                        "use `\"no\"`, `\"always\"`, `\"on-failure\"`, `\"on-failure:N\"` (N ≥ 1 retries) or `\"unless-stopped\"`",
                    ),
                });
            }
        }
        (Type::CommandLine, Value::String(_) | Value::Template(_)) => true,
        (Type::HostPath, Value::String(_)) => true,
        (Type::Tmpfs, Value::Bool(true) | Value::Size(_)) => true,
        (Type::Ulimit, Value::Map(_)) => true,
        (Type::Ulimit, v) => {
            return range_int(
                v,
                |i| i >= 0,
                ty,
                "a limit is a number ≥ 0, or `{ soft = 1024, hard = 2048 }`",
            );
        }
        (Type::Scalar, Value::String(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)) => true,
        (Type::Tmpfs, Value::Bool(false)) => {
            return Err(Mismatch::Range {
                expected: ty.describe(),
                help: String::from(
                    "remove the mount, or write `tmpfs = true` (or a size: `tmpfs = 64MiB`)",
                ),
            });
        }
        (Type::CommandLine, Value::List(items)) => {
            return items.iter().try_for_each(|i| conform(i, &Type::Str));
        }
        (Type::NonNegative, v) => return range_int(v, |i| i >= 0, ty, "use 0 to stop every copy"),
        (Type::Count, v) => return range_int(v, |i| i >= 1, ty, "count at least 1"),
        (Type::UserId, v) => {
            return range_int(
                v,
                |i| (1..=2_147_483_647).contains(&i),
                ty,
                "containers run as a numeric non-root user, e.g. `10001`; 0 is root",
            );
        }
        (Type::PositiveFloat, Value::Float(f)) if *f > 0.0 => true,
        (Type::PositiveFloat, Value::Int(i)) if *i > 0 => true,
        (Type::PositiveFloat, Value::Float(_) | Value::Int(_)) => {
            return Err(Mismatch::Range {
                expected: ty.describe(),
                help: String::from("use a positive number, e.g. `0.5`"),
            });
        }
        (Type::PositiveDuration, Value::Duration(d)) => {
            if *d > 0 {
                true
            } else {
                return Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: String::from("use a duration greater than zero, e.g. `2s` or `14h`"),
                });
            }
        }
        (Type::HttpPath, Value::String(s)) => {
            if !s.starts_with('/') {
                return Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: format!("write `\"/{s}\"`"),
                });
            }
            // The probe's URL, the target group's health check and the
            // load balancer's configuration all take the path as written.
            if let Some(c) = s.chars().find(|&c| !url_path_char(c)) {
                return Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: format!(
                        "{} cannot stand in a URL: percent-encode it, as `{}`",
                        if c == ' ' {
                            String::from("a space")
                        } else {
                            format!("`{}`", c.escape_debug())
                        },
                        percent_encoded(c)
                    ),
                });
            }
            if s.len() > MAX_HTTP_PATH {
                return Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: format!(
                        "shorten it to {MAX_HTTP_PATH} characters: an AWS target group's health check path takes no more (this one has {})",
                        s.chars().count()
                    ),
                });
            }
            if let Some(at) = broken_escape(s) {
                return Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: format!(
                        "`{}` is not a percent-encoding (`%` and two hex digits): write `%25` for a `%` itself",
                        s[at..].chars().take(3).collect::<String>()
                    ),
                });
            }
            true
        }
        (Type::HttpPath, Value::Template(_)) => true,
        (Type::BaseImage | Type::ImageRef, Value::String(s)) => {
            if is_pinned(s) {
                true
            } else {
                return Err(Mismatch::Unpinned {
                    reference: s.clone(),
                });
            }
        }
        (Type::BaseImage, Value::Image(_)) => true,
        (Type::ListenerPriority, v) => {
            return range_int(
                v,
                |i| (0..=50_000).contains(&i),
                ty,
                "load balancer listener rules have priorities 1 to 50000; 0 derives them from the host name",
            );
        }
        (Type::Between(lo, hi), v) => {
            return range_int(
                v,
                |i| (*lo..=*hi).contains(&i),
                ty,
                &format!("use a number from {lo} to {hi}"),
            );
        }
        (Type::VpcCidr, Value::String(s)) => {
            if vpc_cidr(s).is_some() {
                true
            } else {
                return Err(Mismatch::Range {
                    expected: ty.describe(),
                    help: String::from(
                        "write a private block such as `\"10.20.0.0/16\"`: four numbers 0–255, a prefix from 16 to 24, no bits set after it",
                    ),
                });
            }
        }
        (Type::ImageRef, Value::Template(_)) => true,
        _ => false,
    };
    if ok { Ok(()) } else { Err(mismatch(ty, value)) }
}

macro_rules! user_types {
    ($($name:literal => $ty:ident / $list:ident / $map:ident,)*) => {
        $(
            static $list: Type = Type::List(&Type::$ty);
            static $map: Type = Type::Map(&Type::$ty);
        )*

        /// The type a user wrote in a `param` declaration: a scalar name, or
        /// `list<T>` / `map<T>` of one. `None` if it is not a type.
        pub fn parse_type(name: &str, arg: Option<&str>) -> Result<&'static Type, TypeError> {
            match (name, arg) {
                $(($name, None) => Ok(&Type::$ty),)*
                $(("list", Some($name)) => Ok(&$list),)*
                $(("map", Some($name)) => Ok(&$map),)*
                ("list" | "map", None) => Err(TypeError::MissingArgument),
                ("list" | "map", Some(_)) => Err(TypeError::UnknownArgument),
                _ => Err(TypeError::Unknown),
            }
        }

        /// The names a user may write as types.
        pub const TYPE_NAMES: &[&str] = &[$($name,)* "list", "map"];
    };
}

/// Why a written type is not one.
#[derive(Debug, PartialEq)]
pub enum TypeError {
    Unknown,
    MissingArgument,
    UnknownArgument,
}

user_types! {
    "string" => Str / LIST_STR / MAP_STR,
    "int" => Int / LIST_INT / MAP_INT,
    "float" => Float / LIST_FLOAT / MAP_FLOAT,
    "bool" => Bool / LIST_BOOL / MAP_BOOL,
    "duration" => Duration / LIST_DURATION / MAP_DURATION,
    "size" => Size / LIST_SIZE / MAP_SIZE,
    "secret" => Secret / LIST_SECRET / MAP_SECRET,
    "port" => Port / LIST_PORT / MAP_PORT,
    "image" => Image / LIST_IMAGE / MAP_IMAGE,
    "component" => Component / LIST_COMPONENT / MAP_COMPONENT,
    "any" => Any / LIST_ANY / MAP_ANY,
}

/// The longest health check path an ELBv2 target group takes
/// (`HealthCheckPath`, 1–1,024 characters).
const MAX_HTTP_PATH: usize = 1024;

/// A character an HTTP path and query may hold as written (RFC 3986: the
/// unreserved characters, `%` of a percent-encoding, the sub-delimiters,
/// `:`, `@`, `/` and `?`).
pub(crate) fn url_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=:@/?".contains(c)
}

/// Where in `s` a `%` is not followed by two hex digits, if anywhere.
fn broken_escape(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().find_map(|(i, &b)| {
        let escape = bytes.get(i + 1..i + 3);
        (b == b'%' && !escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit))).then_some(i)
    })
}

/// `c` percent-encoded, byte by byte of its UTF-8.
fn percent_encoded(c: char) -> String {
    let mut bytes = [0; 4];
    c.encode_utf8(&mut bytes)
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_range_checked() {
        assert!(conform(&Value::Int(80), &Type::PortNumber).is_ok());
        assert!(matches!(
            conform(&Value::Int(70000), &Type::PortNumber),
            Err(Mismatch::Range { .. })
        ));
        assert!(matches!(
            conform(&Value::Secret("x".into()), &Type::Str),
            Err(Mismatch::Secret { .. })
        ));
    }

    #[test]
    fn pinned_means_a_full_version_or_a_digest() {
        for pinned in [
            "mysql:8.0.43",
            "redis:7.2.4-alpine",
            "node:20.11.1-slim",
            "axllent/mailpit:v1.21.8",
            "postgres:16.4",
            "debian:12.5-slim",
            "minio/minio:RELEASE.2024-03-15T01-07-19Z",
            "debian:bookworm-20240311-slim",
            "registry.example.com:5000/app:1.2.3",
            "nginx@sha256:0123",
        ] {
            assert!(is_pinned(pinned), "{pinned}");
        }
        for floating in [
            "nginx",
            "ruby:2.5",
            "node:lts-buster-slim",
            "nextcloud:apache",
            "app:latest",
            "registry.example.com:5000/app",
            "mysql:8",
        ] {
            assert!(!is_pinned(floating), "{floating}");
        }
    }

    /// A health path is a URL's path and query as written: anything else
    /// is refused, with the character percent-encoded in the help.
    #[test]
    fn http_paths_hold_url_characters_only() {
        let path = |p: &str| conform(&Value::String(p.to_string()), &Type::HttpPath);
        for good in [
            "/",
            "/health",
            "/api/v1/health?full=1&x=%20",
            "/a-b_c.d~e:f@g!$'()*+,;=",
        ] {
            assert_eq!(path(good), Ok(()), "{good}");
        }
        for (bad, encoded) in [
            ("/he alth", "%20"),
            ("/a#b", "%23"),
            ("/café", "%C3%A9"),
            ("/a\"b", "%22"),
            ("/x\nRUN y", "%0A"),
            ("/a%zz", "%25"),
            ("/a%2", "%25"),
        ] {
            match path(bad) {
                Err(Mismatch::Range { help, .. }) => {
                    assert!(help.contains(encoded), "{bad}: {help}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let longest = format!("/{}", "a".repeat(super::MAX_HTTP_PATH - 1));
        assert_eq!(path(&longest), Ok(()));
        match path(&format!("{longest}a")) {
            Err(Mismatch::Range { help, .. }) => assert!(help.contains("1025"), "{help}"),
            other => panic!("1,025 characters: {other:?}"),
        }
    }

    #[test]
    fn user_types_parse() {
        assert_eq!(parse_type("list", Some("string")), Ok(&LIST_STR));
        assert_eq!(parse_type("strin", None), Err(TypeError::Unknown));
        assert_eq!(parse_type("map", None), Err(TypeError::MissingArgument));
    }
}
