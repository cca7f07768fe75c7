//! `json!` for the emitters: the literal syntax of `serde_json::json!`, but an
//! interpolated value is moved (or converted) into the tree. serde_json's macro
//! passes every interpolated expression through its serializer, so a `Value`
//! placed into a larger one (a container in its task definition, the tags in
//! every resource) was copied key by key, each key inserted into a new map:
//! about a seventh of a CloudFormation emission.
//!
//! Supported: `null`, arrays, objects whose keys are string literals or
//! parenthesized expressions, and any expression whose type is [`IntoJson`].
//! An element ends at the first comma outside brackets, as in serde_json's.

use serde_json::{Map, Number, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A value that becomes JSON exactly as `serde_json::to_value` would make it,
/// without going through a serializer.
pub trait IntoJson {
    fn into_json(self) -> Value;
}

impl IntoJson for Value {
    fn into_json(self) -> Value {
        self
    }
}

impl IntoJson for &Value {
    fn into_json(self) -> Value {
        self.clone()
    }
}

impl IntoJson for Map<String, Value> {
    fn into_json(self) -> Value {
        Value::Object(self)
    }
}

impl IntoJson for String {
    fn into_json(self) -> Value {
        Value::String(self)
    }
}

impl IntoJson for &String {
    fn into_json(self) -> Value {
        Value::String(self.clone())
    }
}

impl IntoJson for &str {
    fn into_json(self) -> Value {
        Value::String(self.to_string())
    }
}

impl IntoJson for &&str {
    fn into_json(self) -> Value {
        Value::String((*self).to_string())
    }
}

impl IntoJson for bool {
    fn into_json(self) -> Value {
        Value::Bool(self)
    }
}

impl IntoJson for &bool {
    fn into_json(self) -> Value {
        Value::Bool(*self)
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl IntoJson for $t {
            fn into_json(self) -> Value {
                Value::Number(Number::from(self))
            }
        }
        impl IntoJson for &$t {
            fn into_json(self) -> Value {
                Value::Number(Number::from(*self))
            }
        }
    )*};
}
integers!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl IntoJson for f64 {
    /// As serde_json: a number if finite, else `null`.
    fn into_json(self) -> Value {
        Number::from_f64(self).map_or(Value::Null, Value::Number)
    }
}

impl IntoJson for &f64 {
    fn into_json(self) -> Value {
        (*self).into_json()
    }
}

impl<T: IntoJson> IntoJson for Option<T> {
    fn into_json(self) -> Value {
        self.map_or(Value::Null, IntoJson::into_json)
    }
}

impl<T> IntoJson for &Option<T>
where
    for<'a> &'a T: IntoJson,
{
    fn into_json(self) -> Value {
        self.as_ref().map_or(Value::Null, IntoJson::into_json)
    }
}

impl<T: IntoJson> IntoJson for Vec<T> {
    fn into_json(self) -> Value {
        Value::Array(self.into_iter().map(IntoJson::into_json).collect())
    }
}

impl<T> IntoJson for &Vec<T>
where
    for<'a> &'a T: IntoJson,
{
    fn into_json(self) -> Value {
        self.as_slice().into_json()
    }
}

impl<T> IntoJson for &[T]
where
    for<'a> &'a T: IntoJson,
{
    fn into_json(self) -> Value {
        Value::Array(self.iter().map(IntoJson::into_json).collect())
    }
}

impl<T> IntoJson for &BTreeMap<String, T>
where
    for<'a> &'a T: IntoJson,
{
    fn into_json(self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.clone(), v.into_json()))
                .collect(),
        )
    }
}

impl<T: IntoJson> IntoJson for BTreeSet<T> {
    fn into_json(self) -> Value {
        Value::Array(self.into_iter().map(IntoJson::into_json).collect())
    }
}

/// See the module's documentation.
macro_rules! json {
    (null) => {
        serde_json::Value::Null
    };
    ([]) => {
        serde_json::Value::Array(Vec::new())
    };
    ([ $($tt:tt)+ ]) => {
        serde_json::Value::Array($crate::emit::json::json!(@array [] () $($tt)+))
    };
    ({}) => {
        serde_json::Value::Object(serde_json::Map::new())
    };
    ({ $($tt:tt)+ }) => {
        serde_json::Value::Object({
            let mut object = serde_json::Map::new();
            $crate::emit::json::json!(@object object $($tt)+);
            object
        })
    };

    // An array's elements, each gathered token by token up to a comma, then
    // converted; the finished ones are collected for one `vec!`.
    (@array [$($done:expr,)*] ($($element:tt)*) , $($rest:tt)*) => {
        $crate::emit::json::json!(@array [$($done,)* $crate::emit::json::json!($($element)*),] () $($rest)*)
    };
    (@array [$($done:expr,)*] ($($element:tt)*) $next:tt $($rest:tt)*) => {
        $crate::emit::json::json!(@array [$($done,)*] ($($element)* $next) $($rest)*)
    };
    (@array [$($done:expr,)*] ()) => {
        vec![$($done),*]
    };
    (@array [$($done:expr,)*] ($($element:tt)+)) => {
        vec![$($done,)* $crate::emit::json::json!($($element)+)]
    };

    // An object's entries: a key (a literal or a parenthesized expression),
    // a colon, and the value gathered like an array's element.
    (@object $object:ident) => {};
    (@object $object:ident $key:tt : $($rest:tt)*) => {
        $crate::emit::json::json!(@value $object $key () $($rest)*);
    };
    (@value $object:ident $key:tt ($($value:tt)*) , $($rest:tt)*) => {
        $object.insert(String::from($key), $crate::emit::json::json!($($value)*));
        $crate::emit::json::json!(@object $object $($rest)*);
    };
    (@value $object:ident $key:tt ($($value:tt)*) $next:tt $($rest:tt)*) => {
        $crate::emit::json::json!(@value $object $key ($($value)* $next) $($rest)*);
    };
    (@value $object:ident $key:tt ($($value:tt)+)) => {
        $object.insert(String::from($key), $crate::emit::json::json!($($value)+));
    };

    ($other:expr) => {
        $crate::emit::json::IntoJson::into_json($other)
    };
}
pub(crate) use json;

/// `value` as `serde_json::to_string_pretty` writes it, byte for byte, appended
/// to `out`. Rendering the templates of a large landscape spent about a tenth
/// of an emission in serde_json's formatter (a call per token through its
/// writer); this writes runs of plain text at once.
pub fn write_pretty(out: &mut String, value: &Value) {
    pretty(out, value, 0);
}

/// An object as [`write_pretty`] writes it (a template is kept as a map).
pub fn write_pretty_object(out: &mut String, object: &Map<String, Value>) {
    pretty_object(out, object, 0);
}

fn pretty(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // serde_json formats a number as its `Display` does (itoa, ryu).
        Value::Number(n) => {
            use std::fmt::Write;
            let _ = write!(out, "{n}");
        }
        Value::String(s) => string(out, s),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                pretty(out, x, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(m) => pretty_object(out, m, depth),
    }
}

fn pretty_object(out: &mut String, m: &Map<String, Value>, depth: usize) {
    if m.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (k, x)) in m.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        indent(out, depth + 1);
        string(out, k);
        out.push_str(": ");
        pretty(out, x, depth + 1);
    }
    out.push('\n');
    indent(out, depth);
    out.push('}');
}

fn indent(out: &mut String, depth: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = 2 * depth;
    while n > 0 {
        let run = n.min(SPACES.len());
        out.push_str(&SPACES[..run]);
        n -= run;
    }
}

/// Whether byte `b` is escaped in a string literal: `"`, `\\` and the
/// control characters.
fn is_special(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// How a special byte is written, as serde_json writes it: the short forms
/// of `"`, `\\` and five control characters; `None` for `\u00XX`.
fn short_escape(b: u8) -> Option<&'static str> {
    match b {
        b'"' => Some("\\\""),
        b'\\' => Some("\\\\"),
        b'\n' => Some("\\n"),
        b'\r' => Some("\\r"),
        b'\t' => Some("\\t"),
        0x08 => Some("\\b"),
        0x0c => Some("\\f"),
        _ => None,
    }
}

/// Most strings have nothing to escape. The scan has no early exit, so it
/// runs on whole vectors of bytes at a time.
fn has_special(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |seen, &b| seen | is_special(b))
}

/// The bytes [`string`] writes for `s`, counted without writing: the
/// nested-stack split packs templates by their size.
pub(crate) fn string_len(s: &str) -> usize {
    if !has_special(s.as_bytes()) {
        return 2 + s.len();
    }
    2 + s
        .bytes()
        .map(|b| match (is_special(b), short_escape(b)) {
            (false, _) => 1,
            (true, Some(short)) => short.len(),
            (true, None) => 6,
        })
        .sum::<usize>()
}

/// A string literal, escaped as serde_json escapes.
fn string(out: &mut String, s: &str) {
    out.push('"');
    if !has_special(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate().filter(|&(_, b)| is_special(b)) {
        // Escapes are ASCII, so `plain..i` is a run of whole characters.
        out.push_str(&s[plain..i]);
        match short_escape(b) {
            Some(short) => out.push_str(short),
            None => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every shape the emitters use gives what serde_json's macro gives.
    #[test]
    fn the_same_trees_as_serde_json() {
        let name = String::from("api");
        let tags = serde_json::json!([{"Key": "bomc:landscape", "Value": "shop"}]);
        let port: u16 = 8080;
        let cpu = 0.25_f64;
        let list = vec![String::from("a"), String::from("b")];
        let none: Option<&str> = None;
        // One literal through both macros.
        macro_rules! both {
            ($($literal:tt)+) => {
                (json!($($literal)+), serde_json::json!($($literal)+))
            };
        }
        let (ours, theirs): (Value, Value) = both!({
            "Type": "AWS::ECS::Service",
            "Name": &name,
            "Port": port,
            "Negative": -3,
            "Cpu": cpu,
            "NaN": f64::NAN,
            "Tags": tags.clone(),
            "Borrowed": &tags,
            "List": &list,
            "Empty": [],
            "EmptyObject": {},
            "Null": null,
            "None": none,
            "Nested": {"Ref": format!("{}LogGroup", name), "Pair": [1, "two", {"three": true}],},
            (format!("{name}Key")): "computed key",
            "Last": "wins",
            "Last": "twice",
        });
        assert_eq!(ours, theirs);
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
    }

    /// Byte for byte what serde_json's pretty printer writes, on every kind
    /// of value and every character that is escaped.
    #[test]
    fn pretty_text_is_serde_jsons() {
        let every_byte: String = (0u8..0x80).map(char::from).collect();
        let value = serde_json::json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Escapes": [every_byte, "é ü 日本 \u{7f}", "\"quoted\" \\ back", ""],
            "Numbers": [0, 1, -1, 8080, u64::MAX, i64::MIN, 0.5, 1.0, -2.25e-7, 1e21],
            "Literals": [true, false, null],
            "Empty": {"Array": [], "Object": {}},
            "Deep": {"A": [[[{"B": [1, {"C": {}}]}]]]},
        });
        let theirs = serde_json::to_string_pretty(&value).unwrap();
        let mut ours = String::new();
        super::write_pretty(&mut ours, &value);
        assert_eq!(ours, theirs);
        let mut object = String::new();
        super::write_pretty_object(&mut object, value.as_object().unwrap());
        assert_eq!(object, theirs);
    }
}
