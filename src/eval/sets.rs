//! `--set name=value` from the command line: parsed by the type of the
//! parameter it binds.

use crate::check::Type;
use crate::model::Value;

/// Parses a command-line value for a parameter of type `ty`; `Err` says what
/// was expected.
pub fn parse_value(text: &str, ty: &Type) -> Result<Value, String> {
    match ty {
        Type::Str | Type::Any => Ok(Value::String(text.to_string())),
        Type::Int => text
            .replace('_', "")
            .parse()
            .map(Value::Int)
            .map_err(|_| String::from("an integer, e.g. `3`")),
        Type::Float => text
            .parse()
            .map(Value::Float)
            .map_err(|_| String::from("a number, e.g. `0.5`")),
        Type::Bool => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(String::from("`true` or `false`")),
        },
        Type::Duration => parse_duration(text)
            .map(Value::Duration)
            .ok_or_else(|| String::from("a duration, e.g. `90m` or `14h`")),
        Type::Size => parse_size(text)
            .map(Value::Size)
            .ok_or_else(|| String::from("a size, e.g. `512MiB`")),
        Type::Secret => Ok(Value::Secret(text.to_string())),
        other => Err(format!(
            "{}, which cannot be given on the command line",
            other.describe()
        )),
    }
}

fn split_unit(text: &str) -> Option<(u64, &str)> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(text.len());
    let digits: String = text
        .get(..digits_end)?
        .chars()
        .filter(|c| *c != '_')
        .collect();
    Some((digits.parse().ok()?, text.get(digits_end..)?))
}

/// `2s` → 2000 (milliseconds).
pub fn parse_duration(text: &str) -> Option<u64> {
    let (n, unit) = split_unit(text)?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// `512MiB` → bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let (n, unit) = split_unit(text)?;
    let factor: u64 = match unit {
        "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Milliseconds written back in the largest unit that divides them exactly.
pub fn format_duration(ms: u64) -> String {
    const UNITS: [(u64, &str); 6] = [
        (604_800_000, "w"),
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
        (1, "ms"),
    ];
    if ms == 0 {
        return String::from("0s");
    }
    for (factor, unit) in UNITS {
        if ms.is_multiple_of(factor) {
            return format!("{}{unit}", ms / factor);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        assert_eq!(parse_duration("14h"), Some(50_400_000));
        assert_eq!(format_duration(50_400_000), "14h");
        assert_eq!(format_duration(1_500), "1500ms");
        assert_eq!(parse_duration("3x"), None);
    }

    #[test]
    fn values_parse_by_type() {
        assert_eq!(parse_value("3", &Type::Int), Ok(Value::Int(3)));
        assert!(parse_value("three", &Type::Int).is_err());
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
    }
}
