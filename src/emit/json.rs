//! The JSON the CloudFormation emitter builds templates from, `json!` to
//! build it, and the writer that renders it.
//!
//! A template of a thousand services is tens of thousands of small objects.
//! serde_json's `Value` keeps each in a `BTreeMap`, whose first node holds
//! room for eleven entries, and copies every key into a `String` of its own:
//! a third of a large build's peak memory was those nodes, and building,
//! cloning and freeing them a fifth of its time. [`Map`] is a vector of
//! entries sorted by key (the order serde_json writes them in), sized by the
//! literal that made it, and a key written in the source is borrowed, not
//! copied.
//!
//! `json!` has the literal syntax of `serde_json::json!`, but an interpolated
//! value is moved (or converted) into the tree instead of passing through a
//! serializer. Supported: `null`, arrays, objects whose keys are string
//! literals or parenthesized expressions, and any expression whose type is
//! [`IntoJson`]. An element ends at the first comma outside brackets, as in
//! serde_json's.

use serde_json::Number;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

/// An object's key: borrowed when the source spells it, owned when computed.
pub type Key = Cow<'static, str>;

/// A JSON value; an object's entries are kept in key order.
#[derive(Clone, Debug, Default)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Map),
    /// A value many places hold alike (the tags on every resource): one
    /// tree, shared instead of copied, that reads, compares and renders as
    /// the value it holds. At N = 10,000 the copies of the tags were a
    /// quarter of a template's tree.
    Shared(Arc<Json>),
}

/// Equal when the values shown are, shared or not.
impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        match (self.shown(), other.shown()) {
            (Json::Null, Json::Null) => true,
            (Json::Bool(a), Json::Bool(b)) => a == b,
            (Json::Number(a), Json::Number(b)) => a == b,
            (Json::String(a), Json::String(b)) => a == b,
            (Json::Array(a), Json::Array(b)) => a == b,
            (Json::Object(a), Json::Object(b)) => a == b,
            _ => false,
        }
    }
}

/// A JSON object: entries sorted by key, each key once. Lookups are binary
/// searches; an insertion moves the entries after it, so the templates' large
/// collections (resources, outputs) are gathered elsewhere and become a
/// `Map` at once ([`Map::from_sorted`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    entries: Vec<(Key, Json)>,
}

impl Map {
    pub fn new() -> Self {
        Map::default()
    }

    /// The entries in any order; of two with the same key the later wins,
    /// as it does when they are inserted one after the other.
    pub fn from_entries(mut entries: Vec<(Key, Json)>) -> Self {
        if !entries.is_sorted_by(|a, b| key_order(&a.0, &b.0).is_lt()) {
            // Stable: equal keys stay in their order, and the last is kept
            // (moved into the place of the first, in place).
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            entries.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    std::mem::swap(later, kept);
                }
                same
            });
        }
        Map { entries }
    }

    /// Entries already in strictly increasing key order (a `BTreeMap`'s).
    pub fn from_sorted<K: Into<Key>>(entries: impl IntoIterator<Item = (K, Json)>) -> Self {
        let entries: Vec<(Key, Json)> = entries.into_iter().map(|(k, v)| (held(k), v)).collect();
        debug_assert!(entries.is_sorted_by(|a, b| a.0 < b.0));
        Map { entries }
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| key_order(k, key))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        self.position(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: impl Into<Key>, value: Json) -> Option<Json> {
        let key = held(key);
        // Keys often arrive in order: appending needs no search.
        if self.entries.last().is_none_or(|(last, _)| *last < key) {
            self.entries.push((key, value));
            return None;
        }
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Json> {
        self.position(key).ok().map(|i| self.entries.remove(i).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Json) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Json)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The entries, each key as it is held: one borrowed is a literal of
    /// bomc's own (see [`key_len`]).
    pub(crate) fn entries(&self) -> &[(Key, Json)] {
        &self.entries
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &Json> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut Json> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl IntoIterator for Map {
    type Item = (Key, Json);
    type IntoIter = std::vec::IntoIter<(Key, Json)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a str, &'a Json);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Key, Json)>,
        fn(&'a (Key, Json)) -> (&'a str, &'a Json),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<K: Into<Key>> FromIterator<(K, Json)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Json)>>(entries: I) -> Self {
        Map::from_entries(entries.into_iter().map(|(k, v)| (held(k), v)).collect())
    }
}

static NULL: Json = Json::Null;

impl Json {
    /// The value itself: what a [`Json::Shared`] holds, else `self`.
    pub fn shown(&self) -> &Json {
        match self {
            Json::Shared(value) => value.shown(),
            other => other,
        }
    }

    /// Makes a shared value this one's own, to be changed.
    pub fn unshare(&mut self) {
        if let Json::Shared(value) = self {
            *self = value.shown().clone();
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.shown() {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self.shown() {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self.shown() {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        self.unshare();
        match self {
            Json::Object(m) => Some(m),
            _ => None,
        }
    }

    /// An object's entry by key or an array's element by position; `None`
    /// if there is none.
    pub fn get(&self, at: impl Position) -> Option<&Json> {
        at.find(self)
    }
}

/// Where [`Json::get`] looks: a key in an object, a position in an array.
pub trait Position {
    fn find(self, value: &Json) -> Option<&Json>;
}

impl Position for &str {
    fn find(self, value: &Json) -> Option<&Json> {
        value.as_object()?.get(self)
    }
}

impl Position for usize {
    fn find(self, value: &Json) -> Option<&Json> {
        value.as_array()?.get(self)
    }
}

impl PartialEq<str> for Json {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<String> for Json {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

/// The compact text serde_json writes.
impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

/// As serde_json's: a missing key (or a value that is not an object) reads
/// as `null`.
impl std::ops::Index<&str> for Json {
    type Output = Json;

    fn index(&self, key: &str) -> &Json {
        self.get(key).unwrap_or(&NULL)
    }
}

/// As serde_json's: `null` becomes an object, a missing key is inserted as
/// `null`; indexing any other value is a bug in the emitter.
impl std::ops::IndexMut<&str> for Json {
    fn index_mut(&mut self, key: &str) -> &mut Json {
        self.unshare();
        if let Json::Null = self {
            *self = Json::Object(Map::new());
        }
        match self {
            Json::Object(m) => {
                let i = match m.position(key) {
                    Ok(i) => i,
                    Err(i) => {
                        m.entries
                            .insert(i, (Key::Owned(key.to_string()), Json::Null));
                        i
                    }
                };
                &mut m.entries[i].1
            }
            other => panic!("cannot index {other:?} by {key:?}"),
        }
    }
}

impl serde::Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(n) => n.serialize(serializer),
            Json::String(s) => serializer.serialize_str(s),
            Json::Array(a) => serializer.collect_seq(a),
            Json::Object(m) => m.serialize(serializer),
            Json::Shared(value) => value.serialize(serializer),
        }
    }
}

impl serde::Serialize for Map {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// serde_json's tree (what a parsed JSON text or `to_value` gives).
impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(b),
            serde_json::Value::Number(n) => Json::Number(n),
            serde_json::Value::String(s) => Json::String(s),
            serde_json::Value::Array(a) => Json::Array(a.into_iter().map(Json::from).collect()),
            serde_json::Value::Object(m) => Json::Object(Map::from_sorted(
                m.into_iter().map(|(k, v)| (k, Json::from(v))),
            )),
        }
    }
}

/// A key given by an expression (`(format!(..))` in `json!`).
pub trait IntoKey {
    fn into_key(self) -> Key;
}

impl IntoKey for String {
    fn into_key(self) -> Key {
        Key::Owned(self)
    }
}

impl IntoKey for &str {
    fn into_key(self) -> Key {
        Key::Owned(self.to_string())
    }
}

/// A value that becomes JSON exactly as `serde_json::to_value` would make it,
/// without going through a serializer.
pub trait IntoJson {
    fn into_json(self) -> Json;
}

impl IntoJson for Json {
    fn into_json(self) -> Json {
        self
    }
}

impl IntoJson for &Json {
    fn into_json(self) -> Json {
        self.clone()
    }
}

impl IntoJson for Map {
    fn into_json(self) -> Json {
        Json::Object(self)
    }
}

impl IntoJson for String {
    fn into_json(self) -> Json {
        Json::String(self)
    }
}

impl IntoJson for &String {
    fn into_json(self) -> Json {
        Json::String(self.clone())
    }
}

impl IntoJson for &str {
    fn into_json(self) -> Json {
        Json::String(self.to_string())
    }
}

impl IntoJson for &&str {
    fn into_json(self) -> Json {
        Json::String((*self).to_string())
    }
}

impl IntoJson for bool {
    fn into_json(self) -> Json {
        Json::Bool(self)
    }
}

impl IntoJson for &bool {
    fn into_json(self) -> Json {
        Json::Bool(*self)
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl IntoJson for $t {
            fn into_json(self) -> Json {
                Json::Number(Number::from(self))
            }
        }
        impl IntoJson for &$t {
            fn into_json(self) -> Json {
                Json::Number(Number::from(*self))
            }
        }
    )*};
}
integers!(u16, u32, u64, usize, i32, i64);

impl IntoJson for f64 {
    /// As serde_json: a number if finite, else `null`.
    fn into_json(self) -> Json {
        Number::from_f64(self).map_or(Json::Null, Json::Number)
    }
}

impl IntoJson for &f64 {
    fn into_json(self) -> Json {
        (*self).into_json()
    }
}

impl<T: IntoJson> IntoJson for Option<T> {
    fn into_json(self) -> Json {
        self.map_or(Json::Null, IntoJson::into_json)
    }
}

impl<T: IntoJson> IntoJson for Vec<T> {
    fn into_json(self) -> Json {
        Json::Array(self.into_iter().map(IntoJson::into_json).collect())
    }
}

impl<T> IntoJson for &Vec<T>
where
    for<'a> &'a T: IntoJson,
{
    fn into_json(self) -> Json {
        self.as_slice().into_json()
    }
}

impl<T> IntoJson for &[T]
where
    for<'a> &'a T: IntoJson,
{
    fn into_json(self) -> Json {
        Json::Array(self.iter().map(IntoJson::into_json).collect())
    }
}

impl<T: IntoJson> IntoJson for BTreeSet<T> {
    fn into_json(self) -> Json {
        Json::Array(self.into_iter().map(IntoJson::into_json).collect())
    }
}

/// Keys in the order `str` gives them, their first bytes compared here:
/// a map's keys mostly differ there (`Properties`, `Type`), and a call to
/// `memcmp` for each comparison was most of the cost of putting a `json!`
/// literal's entries in order.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// See the module's documentation.
macro_rules! json {
    (null) => {
        $crate::emit::json::Json::Null
    };
    ([]) => {
        $crate::emit::json::Json::Array(Vec::new())
    };
    ([ $($tt:tt)+ ]) => {
        $crate::emit::json::Json::Array($crate::emit::json::json!(@array [] () $($tt)+))
    };
    ({}) => {
        $crate::emit::json::Json::Object($crate::emit::json::Map::new())
    };
    ({ $($tt:tt)+ }) => {
        $crate::emit::json::Json::Object($crate::emit::json::Map::from_entries(
            $crate::emit::json::json!(@object [] $($tt)+)
        ))
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
    // a colon, and the value gathered like an array's element; the finished
    // `(key, value)` pairs are collected for one `vec!`, sorted by the map.
    (@object [$($done:expr,)*]) => {
        vec![$($done),*]
    };
    (@object [$($done:expr,)*] $key:tt : $($rest:tt)*) => {
        $crate::emit::json::json!(@value [$($done,)*] $key () $($rest)*)
    };
    (@value [$($done:expr,)*] $key:tt ($($value:tt)*) , $($rest:tt)*) => {
        $crate::emit::json::json!(@object [$($done,)* ($crate::emit::json::json!(@key $key), $crate::emit::json::json!($($value)*)),] $($rest)*)
    };
    (@value [$($done:expr,)*] $key:tt ($($value:tt)*) $next:tt $($rest:tt)*) => {
        $crate::emit::json::json!(@value [$($done,)*] $key ($($value)* $next) $($rest)*)
    };
    (@value [$($done:expr,)*] $key:tt ($($value:tt)+)) => {
        vec![$($done,)* ($crate::emit::json::json!(@key $key), $crate::emit::json::json!($($value)+))]
    };
    (@key $key:literal) => {{
        const KEY: &str = $key;
        const _: () = assert!(
            $crate::emit::json::plain_text(KEY),
            "a JSON key literal with a character to escape"
        );
        $crate::emit::json::Key::Borrowed(KEY)
    }};
    (@key $key:tt) => {
        $crate::emit::json::IntoKey::into_key($key)
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
pub fn write_pretty(out: &mut String, value: &Json) {
    pretty(out, value, 0, &mut LastShared::default(), &as_it_is);
}

/// An object as [`write_pretty`] writes it (a template is kept as a map).
pub fn write_pretty_object(out: &mut String, object: &Map) {
    pretty_object(out, object, 0, &mut LastShared::default(), &as_it_is);
}

/// [`write_pretty_object`], each object for which `instead` gives a value
/// written as that value (itself as it is). The nested-stack split rewrites
/// a stack's references to resources elsewhere so, as the stack is written:
/// a walk over every value of every resource less than rewriting its tree.
pub fn write_pretty_object_instead<'v>(
    out: &mut String,
    object: &Map,
    instead: &impl Fn(&Map) -> Option<&'v Json>,
) {
    pretty_object(out, object, 0, &mut LastShared::default(), instead);
}

/// Every object written as it is.
fn as_it_is<'v>(_: &Map) -> Option<&'v Json> {
    None
}

fn pretty<'v>(
    out: &mut String,
    value: &Json,
    depth: usize,
    last: &mut LastShared,
    instead: &impl Fn(&Map) -> Option<&'v Json>,
) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        // serde_json formats a number as its `Display` does (itoa, ryu).
        Json::Number(n) => {
            use std::fmt::Write;
            let _ = write!(out, "{n}");
        }
        Json::String(s) => string(out, s),
        Json::Array(a) if a.is_empty() => out.push_str("[]"),
        Json::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                line(out, depth + 1);
                pretty(out, x, depth + 1, last, instead);
            }
            line(out, depth);
            out.push(']');
        }
        Json::Object(m) => match instead(m) {
            Some(other) => pretty(out, other, depth, last, &as_it_is),
            None => pretty_object(out, m, depth, last, instead),
        },
        Json::Shared(value) => match &last.written {
            Some((held, at)) if *at == depth && Arc::ptr_eq(held, value) => {
                out.push_str(&last.text)
            }
            _ => {
                let start = out.len();
                pretty(out, value, depth, last, instead);
                last.text.clear();
                last.text.push_str(&out[start..]);
                last.written = Some((Arc::clone(value), depth));
            }
        },
    }
}

fn pretty_object<'v>(
    out: &mut String,
    m: &Map,
    depth: usize,
    last: &mut LastShared,
    instead: &impl Fn(&Map) -> Option<&'v Json>,
) {
    if m.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (k, x)) in m.entries().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        line(out, depth + 1);
        key(out, k);
        pretty(out, x, depth + 1, last, instead);
    }
    line(out, depth);
    out.push('}');
}

/// The text of the shared value written last, and where: the same tags go
/// on thousands of resources at the same depth, written once and copied
/// after (text depends on the depth through its indentation).
#[derive(Default)]
struct LastShared {
    written: Option<(Arc<Json>, usize)>,
    text: String,
}

/// A line break and the indentation of `depth`, in one copy where it can
/// be: a template is some 300,000 short lines at N = 1,000, and each copy of
/// a run of text is a call.
fn line(out: &mut String, depth: usize) {
    const LINE: &str = "\n                                                                ";
    let spaces = 2 * depth;
    if spaces < LINE.len() {
        out.push_str(&LINE[..1 + spaces]);
        return;
    }
    out.push('\n');
    let mut n = spaces;
    while n > 0 {
        let run = n.min(LINE.len() - 1);
        out.push_str(&LINE[1..=run]);
        n -= run;
    }
}

/// An object's key and what separates it from its value.
fn key(out: &mut String, k: &Key) {
    match k {
        Key::Borrowed(k) => {
            out.push('"');
            out.push_str(k);
            out.push_str("\": ");
        }
        Key::Owned(k) => {
            string(out, k);
            out.push_str(": ");
        }
    }
}

/// The bytes [`key`] writes for `k` before `: `. A borrowed key is a
/// literal of bomc's own source, a CloudFormation name with nothing to
/// escape (`json!` asserts it of its literal keys as it compiles): its text
/// is not scanned. Keys are three in five of a template's strings.
pub(crate) fn key_len(k: &Key) -> usize {
    match k {
        Key::Borrowed(k) => 2 + k.len(),
        Key::Owned(k) => string_len(k),
    }
}

/// A key as a map holds it: one borrowed is written unscanned ([`key`]), so
/// a borrowed text with anything to escape is held as an owned one. `json!`
/// checks its literal keys as it compiles and hands them to
/// [`Map::from_entries`] as they are; every other way a key comes in
/// (`insert`, `from_sorted`, `collect`) passes here.
fn held(key: impl Into<Key>) -> Key {
    match key.into() {
        Key::Borrowed(k) if !plain_text(k) => Key::Owned(k.to_string()),
        key => key,
    }
}

/// Whether `text` has nothing a JSON string escapes, for `json!`'s
/// literal keys as it compiles.
pub const fn plain_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if is_special(bytes[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether byte `b` is escaped in a string literal: `"`, `\\` and the
/// control characters.
const fn is_special(b: u8) -> bool {
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
    use super::{Json, Map};

    /// A borrowed key (a literal of bomc's) is written unscanned, an owned
    /// one escaped; either way as serde_json writes it, and measured as
    /// written.
    #[test]
    fn keys_borrowed_or_owned_are_written_and_measured_alike() {
        for k in [
            super::Key::Borrowed("Fn::GetAtt"),
            super::Key::Owned(String::from("Fn::GetAtt")),
            super::Key::Owned(String::from("a\"b\\c\nd\u{1}")),
        ] {
            let mut out = String::new();
            super::key(&mut out, &k);
            let expected = serde_json::to_string(k.as_ref()).expect("a string") + ": ";
            assert_eq!(out, expected);
            assert_eq!(super::key_len(&k) + 2, out.len());
        }
        // A borrowed key that needs escaping, given as any but a `json!`
        // literal, is held as an owned one and written escaped.
        let quoted: &'static str = "say \"hi\"";
        let mut m = Map::new();
        m.insert(quoted, Json::Null);
        let collected: Map = [(quoted, Json::Null)].into_iter().collect();
        let sorted = Map::from_sorted([(quoted, Json::Null)]);
        for m in [&m, &collected, &sorted] {
            let mut text = String::new();
            super::write_pretty_object(&mut text, m);
            assert_eq!(text, "{\n  \"say \\\"hi\\\"\": null\n}");
        }
        assert!(super::plain_text("AWS::ECS::Service"));
        assert!(!super::plain_text("say \"hi\""));
        assert!(!super::plain_text("tab\there"));
    }

    /// A map's order is `str`'s, whether keys differ in their first byte or
    /// later, and lookups find every key by it.
    #[test]
    fn keys_are_in_the_order_str_gives() {
        let keys = [
            "Type",
            "",
            "a",
            "B",
            "ab",
            "aB",
            "Properties",
            "Tags",
            "T",
            "é",
            "z",
            "Z",
            "_",
            "Ta",
        ];
        let m = Map::from_entries(
            keys.iter()
                .map(|k| (super::Key::from(k.to_string()), Json::Null))
                .collect(),
        );
        let mut sorted = keys.to_vec();
        sorted.sort();
        assert_eq!(m.keys().collect::<Vec<_>>(), sorted);
        for k in keys {
            assert!(m.get(k).is_some(), "{k}");
        }
        assert!(m.get("Typ").is_none());
        assert!(m.get("Tb").is_none());
    }

    /// Keys come out sorted, and of equal keys the last one given wins.
    #[test]
    fn entries_are_sorted_and_the_last_of_a_key_wins() {
        let entry = |k: &str, v: &str| (super::Key::from(k.to_string()), Json::String(v.into()));
        let m = Map::from_entries(vec![
            entry("b", "1"),
            entry("a", "2"),
            entry("b", "3"),
            entry("c", "5"),
            entry("b", "4"),
        ]);
        let shown: Vec<(&str, &str)> = m
            .iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default()))
            .collect();
        assert_eq!(shown, [("a", "2"), ("b", "4"), ("c", "5")]);
    }

    /// Every shape the emitters use gives what serde_json's macro gives.
    #[test]
    fn the_same_trees_as_serde_json() {
        let name = String::from("api");
        let tags = json!([{"Key": "bomc:landscape", "Value": "shop"}]);
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
        let (ours, theirs): (Json, serde_json::Value) = both!({
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
        assert_eq!(serde_json::to_value(&ours).unwrap(), theirs);
        assert_eq!(Json::from(theirs.clone()), ours);
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
    }

    /// A map behaves as serde_json's: keys in order, each once, the last
    /// value set wins; indexing reads a missing key as `null` and inserts it
    /// when written.
    #[test]
    fn a_map_is_sorted_and_keeps_the_last_value() {
        let mut m = Map::new();
        for (k, v) in [("b", 1), ("a", 2), ("c", 3), ("b", 4), ("aa", 5)] {
            m.insert(k.to_string(), json!(v));
        }
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "aa", "b", "c"]);
        assert_eq!(m.get("b"), Some(&json!(4)));
        assert_eq!(m.remove("aa"), Some(json!(5)));
        assert!(!m.contains_key("aa"));
        let collected: Map = [("z", json!(1)), ("y", json!(2)), ("z", json!(3))]
            .into_iter()
            .collect();
        assert_eq!(
            collected.iter().collect::<Vec<_>>(),
            [("y", &json!(2)), ("z", &json!(3))]
        );
        let mut v = Json::Null;
        v["b"]["c"] = json!(true);
        v["a"] = json!("x");
        assert_eq!(v["b"]["c"], json!(true));
        assert_eq!(v["missing"], Json::Null);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":"x","b":{"c":true}}"#
        );
    }

    /// Byte for byte what serde_json's pretty printer writes, on every kind
    /// of value and every character that is escaped.
    #[test]
    fn a_shared_value_reads_renders_and_compares_as_its_own() {
        let tags = super::json!([{"Key": "bomc:a", "Value": "1"}, {"Key": "bomc:b", "Value": "2"}]);
        let shared = Json::Shared(std::sync::Arc::new(tags.clone()));
        let with =
            |t: &Json| super::json!({"Type": "T", "Properties": {"Tags": (t.clone()), "N": 1}});
        let (own, held) = (with(&tags), with(&shared));
        assert_eq!(own, held);
        assert_eq!(held["Properties"]["Tags"].as_array().map(Vec::len), Some(2));
        let pretty = |v: &Json| {
            let mut out = String::new();
            super::write_pretty(&mut out, v);
            out
        };
        assert_eq!(pretty(&held), pretty(&own));
        assert_eq!(
            serde_json::to_string(&held).unwrap(),
            serde_json::to_string(&own).unwrap()
        );
        assert_eq!(
            serde_yaml_ng::to_value(&held).unwrap(),
            serde_yaml_ng::to_value(&own).unwrap()
        );
        // A change made through one holder is that holder's alone.
        let one = || Json::Shared(std::sync::Arc::new(super::json!({"K": "v"})));
        let (kept, mut indexed, mut inserted) = (one(), one(), one());
        if let (Json::Shared(a), Json::Shared(b)) = (&kept, &indexed) {
            assert!(!std::sync::Arc::ptr_eq(a, b));
        }
        let mut alike = kept.clone();
        alike["K"] = super::json!("w");
        indexed["K"] = super::json!("w");
        inserted
            .as_object_mut()
            .unwrap()
            .insert("L", super::json!(1));
        assert_eq!(kept, super::json!({"K": "v"}));
        assert_eq!(alike, super::json!({"K": "w"}));
        assert_eq!(indexed, super::json!({"K": "w"}));
        assert_eq!(inserted, super::json!({"K": "v", "L": 1}));
        assert_eq!(shared, tags);
    }

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
        // Deeper than one copy of the indentation reaches.
        let mut value = value;
        let mut deep = serde_json::json!(["bottom"]);
        for level in 0..40 {
            deep = if level % 2 == 0 {
                serde_json::json!({"level": deep, "next": level})
            } else {
                serde_json::json!([level, deep])
            };
        }
        value["Deeper"] = deep;
        let theirs = serde_json::to_string_pretty(&value).unwrap();
        let ours_value = Json::from(value);
        let mut ours = String::new();
        super::write_pretty(&mut ours, &ours_value);
        assert_eq!(ours, theirs);
        let mut object = String::new();
        super::write_pretty_object(&mut object, ours_value.as_object().unwrap());
        assert_eq!(object, theirs);
    }
}
