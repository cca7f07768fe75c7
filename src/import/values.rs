//! Compose values as `.bom` values: strings with their compose variables as
//! parameters, durations, sizes, shell-split commands, port names.

use super::Importer;
use super::bom::{Expr, Piece};
use super::read::{self, Part};
use serde_yaml_ng::Value as Yaml;

/// Pinned as the language wants it: a digest, or a tag with at least
/// `MAJOR.MINOR.PATCH`.
pub fn pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let (_, tag) = super::kinds::split_image(image);
    let numbers = tag
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .trim_start_matches('v');
    numbers.split('.').count() >= 3
        && numbers
            .split('.')
            .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

impl Importer<'_> {
    /// A compose string as a `.bom` string: each compose variable a
    /// parameter (declared with the value compose gives it unset).
    pub(super) fn text(&mut self, s: &str) -> Expr {
        let mut pieces = Vec::new();
        for part in read::parts(s) {
            match part {
                Part::Text(t) => pieces.push(Piece::Lit(t)),
                Part::Var { name, unset } => {
                    let param = param_name(&name);
                    self.params.entry(param.clone()).or_insert(unset);
                    pieces.push(Piece::Ref(param));
                }
            }
        }
        if pieces.is_empty() {
            pieces.push(Piece::Lit(String::new()));
        }
        Expr::Str(pieces)
    }

    /// A scalar the importer must read (a port, a path, a duration): compose
    /// variables take their unset value, with a warning.
    pub(super) fn fixed(&mut self, s: &str, path: &[&str]) -> String {
        if read::has_variable(s) {
            let value = read::concrete(s);
            self.warn(
                crate::diag::ErrorCode::VariableFixed,
                path,
                format!("`{s}` is imported as `{value}`, the value compose gives it with the variable unset"),
                "bomc parameters cannot stand for this value: edit it in the .bom file",
            );
            value
        } else {
            s.to_string()
        }
    }

    /// Any YAML value as a `.bom` value (for the escape hatch).
    pub(super) fn raw(&mut self, v: &Yaml) -> Expr {
        match v {
            Yaml::Null => Expr::Null,
            Yaml::Bool(b) => Expr::Bool(*b),
            Yaml::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Expr::Int(i),
                (None, Some(f)) => Expr::Float(f),
                _ => Expr::str(&n.to_string()),
            },
            Yaml::String(s) => self.text(s),
            Yaml::Sequence(items) => Expr::List(items.iter().map(|i| self.raw(i)).collect()),
            Yaml::Mapping(m) => Expr::Map(
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (scalar(k), self.raw(v)))
                    .collect(),
            ),
            Yaml::Tagged(t) => self.raw(&t.value),
        }
    }
}

/// A compose variable's parameter name.
fn param_name(var: &str) -> String {
    let lower = var.to_ascii_lowercase();
    if lower.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        lower
    } else {
        format!("v{lower}")
    }
}

/// A YAML scalar as text (keys, environment values).
pub fn scalar(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => String::new(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// A compose duration (`1m30s`, `500ms`, `10s`) in milliseconds.
pub fn duration_ms(s: &str) -> Option<u64> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = s.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        let factor = match unit.as_str() {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1_000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            _ => return None,
        };
        total += n * factor;
        any = true;
    }
    if !number.is_empty() || !any {
        return None;
    }
    Some(total.round() as u64)
}

/// A duration literal: the largest unit that divides it.
pub fn duration_literal(ms: u64) -> String {
    for (size, unit) in [(3_600_000, "h"), (60_000, "m"), (1_000, "s")] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A compose memory size (`512m`, `1g`, `1.5G`, bytes) as a size literal;
/// compose's units are powers of 1024.
pub fn size_literal(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.trim_end_matches('b');
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: f64 = number.parse().ok()?;
    let factor: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0f64.powi(4),
        _ => return None,
    };
    let bytes = (n * factor).round() as u64;
    for (size, unit) in [
        (1u64 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return Some(format!("{}{unit}", bytes / size));
        }
    }
    Some(format!("{bytes}B"))
}

/// Splits a command string as compose does (POSIX-shell words: quotes and
/// backslashes, no expansion).
pub fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => {
                            let n = chars.next()?;
                            if !matches!(n, '"' | '\\' | '$' | '`') {
                                word.push('\\');
                            }
                            word.push(n);
                        }
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// A name for a container port: the usual protocol's, else `p<number>`.
pub fn port_name(number: u16) -> String {
    let name = match number {
        80 | 8080 | 8000 | 3000 | 5000 | 8081 | 9000 | 9090 | 4000 | 8888 | 3001 | 5601 | 8200 => {
            "http"
        }
        443 | 8443 => "https",
        3306 => "mysql",
        5432 => "postgres",
        6379 => "redis",
        27017 => "mongodb",
        9200 => "http",
        9300 => "transport",
        5672 => "amqp",
        15672 => "management",
        22 => "ssh",
        53 => "dns",
        25 | 587 | 1025 => "smtp",
        11211 => "memcached",
        2181 => "zookeeper",
        9092 => "kafka",
        _ => return format!("p{number}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(duration_ms("1m30s"), Some(90_000));
        assert_eq!(duration_ms("500ms"), Some(500));
        assert_eq!(duration_ms("10"), None);
        assert_eq!(duration_literal(90_000), "90s");
        assert_eq!(duration_literal(120_000), "2m");
        assert_eq!(size_literal("512m").as_deref(), Some("512MiB"));
        assert_eq!(size_literal("1.5G").as_deref(), Some("1536MiB"));
        assert_eq!(size_literal("1000").as_deref(), Some("1000B"));
    }

    #[test]
    fn shell_split() {
        assert_eq!(
            shell_words(r#"sh -c "echo 'a b' \"c\"" x\ y"#).unwrap(),
            vec!["sh", "-c", "echo 'a b' \"c\"", "x y"]
        );
        assert_eq!(shell_words("'unclosed"), None);
    }

    #[test]
    fn pins() {
        assert!(pinned("mysql:8.0.43"));
        assert!(pinned("redis:7.2.4-alpine"));
        assert!(!pinned("mysql:5.7"));
        assert!(!pinned("nginx"));
        assert!(!pinned("nextcloud:apache"));
        assert!(pinned("x@sha256:abc"));
    }
}
