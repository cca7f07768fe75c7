//! [`super::entry`]'s text for a typed value, written as serde walks it:
//! the same bytes as `entry` of the tree `serde_yaml_ng::to_value` would make
//! of it, without that tree. Compose's services were built as trees only to
//! be written and freed, a quarter of making `compose.yaml`.

use super::{float, indent, str_key_here, string_after};
use serde::Serialize;
use serde::ser::{self, Impossible};
use std::borrow::Cow;
use std::fmt::Write;

/// Which string values have each `$` doubled: compose interpolates values,
/// and a service's `environment` is made with its own escaping (secrets
/// stay interpolated).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dollars {
    /// Every string value, at any depth.
    Doubled,
    /// None.
    AsIs,
    /// Every one but those under the mapping's own `environment` key.
    DoubledButEnvironment,
}

impl Dollars {
    /// What applies under `key` of a mapping this applies to.
    fn under(self, key: &str) -> Dollars {
        match self {
            Dollars::DoubledButEnvironment if key == "environment" => Dollars::AsIs,
            Dollars::DoubledButEnvironment => Dollars::Doubled,
            other => other,
        }
    }

    fn apply(self, s: &str) -> Cow<'_, str> {
        if self != Dollars::AsIs && s.contains('$') {
            Cow::Owned(s.replace('$', "$$"))
        } else {
            Cow::Borrowed(s)
        }
    }
}

/// What a value could not be written for: a map key that is not a string,
/// a number or a boolean (none of bomc's values has one).
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// `key: value` at `level` into `out`, as [`super::entry`] writes it for
/// `to_value(value)` with the string values `$`-escaped as `dollars` says.
pub fn typed_entry(
    out: &mut String,
    key: &str,
    value: &impl Serialize,
    level: usize,
    dollars: Dollars,
) -> Result<(), Error> {
    indent(out, level);
    str_key_here(out, key, level);
    value.serialize(After {
        out,
        level,
        item: false,
        dollars,
    })
}

/// Writes a value after `key:` (or, for an `item`, after `- `) at `level`,
/// as `value_after` (or `sequence`) writes its tree.
struct After<'o> {
    out: &'o mut String,
    level: usize,
    item: bool,
    dollars: Dollars,
}

impl<'o> After<'o> {
    fn scalar(self, text: &str) -> Result<(), Error> {
        self.out.push(' ');
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    fn string(self, s: &str) -> Result<(), Error> {
        string_after(self.out, &self.dollars.apply(s), self.level);
        Ok(())
    }

    fn collection(self, kind: Kind) -> Compound<'o> {
        Compound {
            out: self.out,
            level: self.level + 2,
            continued: self.item && kind == Kind::Map,
            kind,
            count: 0,
            dollars: self.dollars,
            pending: None,
        }
    }
}

macro_rules! integers {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            let _ = write!(self.out, " {v}\n");
            Ok(())
        })*
    };
}

impl<'o> ser::Serializer for After<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'o>;
    type SerializeTuple = Compound<'o>;
    type SerializeTupleStruct = Compound<'o>;
    type SerializeTupleVariant = Compound<'o>;
    type SerializeMap = Compound<'o>;
    type SerializeStruct = Compound<'o>;
    type SerializeStructVariant = Compound<'o>;

    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" })
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.scalar(&float(v))
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.collection(Kind::Seq);
        v.iter().try_for_each(|b| seq.serialize_element(b))?;
        seq.end()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.scalar("null")
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar("null")
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.scalar("null")
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    /// A tagged value in the tree, whose tag the writer leaves out.
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'o>, Error> {
        Ok(self.collection(Kind::Seq))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Compound<'o>, Error> {
        Ok(self.collection(Kind::Seq))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, Error> {
        Ok(self.collection(Kind::Seq))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, Error> {
        Ok(self.collection(Kind::Seq))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'o>, Error> {
        Ok(self.collection(Kind::Map))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'o>, Error> {
        Ok(self.collection(Kind::Map))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'o>, Error> {
        Ok(self.collection(Kind::Map))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Seq,
    Map,
}

/// A block sequence's items or a block mapping's entries at `level`,
/// written as they come: the line break before the first (or, after `- `,
/// nothing) only once there is one, `[]` or `{}` when none came.
struct Compound<'o> {
    out: &'o mut String,
    level: usize,
    /// A mapping that is a sequence's item: its first entry follows `- `.
    continued: bool,
    kind: Kind,
    count: usize,
    dollars: Dollars,
    /// What applies to the value of the map entry whose key was written
    /// last, until that value is.
    pending: Option<Dollars>,
}

impl Compound<'_> {
    fn item<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        if self.count == 0 {
            self.out.push('\n');
        }
        self.count += 1;
        indent(self.out, self.level);
        self.out.push('-');
        value.serialize(After {
            out: self.out,
            level: self.level,
            item: true,
            dollars: self.dollars,
        })
    }

    /// What comes before an entry's key: the line break before the first
    /// (or, after `- `, a space), else the indentation.
    fn next_entry(&mut self) {
        if self.count == 0 && self.continued {
            self.out.push(' ');
        } else {
            if self.count == 0 {
                self.out.push('\n');
            }
            indent(self.out, self.level);
        }
        self.count += 1;
    }

    fn value<T: ?Sized + Serialize>(&mut self, value: &T, dollars: Dollars) -> Result<(), Error> {
        value.serialize(After {
            out: self.out,
            level: self.level,
            item: false,
            dollars,
        })
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.next_entry();
        str_key_here(self.out, key, self.level);
        self.value(value, self.dollars.under(key))
    }

    fn finish(self) -> Result<(), Error> {
        if self.count == 0 {
            self.out.push_str(match self.kind {
                Kind::Seq => " []\n",
                Kind::Map => " {}\n",
            });
        }
        Ok(())
    }
}

/// The serde traits of a sequence's items, all written as [`Compound::item`].
macro_rules! items {
    ($($trait:ident :: $method:ident),*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.item(value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        })*
    };
}

items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.next_entry();
        self.pending = Some(key.serialize(KeyWriter {
            out: self.out,
            level: self.level,
            dollars: self.dollars,
        })?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let dollars = self
            .pending
            .take()
            .ok_or_else(|| Error(String::from("a map value without its key")))?;
        self.value(value, dollars)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// The serde traits of a struct's fields, entries of a mapping.
macro_rules! fields {
    ($($trait:ident),*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        })*
    };
}

fields!(SerializeStruct, SerializeStructVariant);

/// Writes a map's key and `:` in place, as the tree's writer writes a key:
/// text plain where it can be, else quoted; a number, a boolean or null as
/// it is. Gives what applies to the entry's value.
struct KeyWriter<'o> {
    out: &'o mut String,
    level: usize,
    dollars: Dollars,
}

impl KeyWriter<'_> {
    fn text(self, k: &str) -> Result<Dollars, Error> {
        str_key_here(self.out, k, self.level);
        Ok(self.dollars.under(k))
    }

    fn plain(self, k: &str) -> Result<Dollars, Error> {
        self.out.push_str(k);
        self.out.push(':');
        Ok(self.dollars.under(k))
    }
}

macro_rules! plain_keys {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<Dollars, Error> {
            let _ = write!(self.out, "{v}:");
            Ok(self.dollars.under(""))
        })*
    };
}

fn not_a_key() -> Error {
    Error(String::from(
        "a map key that is not a string, a number or a boolean",
    ))
}

impl<'o> ser::Serializer for KeyWriter<'o> {
    type Ok = Dollars;
    type Error = Error;
    type SerializeSeq = Impossible<Dollars, Error>;
    type SerializeTuple = Impossible<Dollars, Error>;
    type SerializeTupleStruct = Impossible<Dollars, Error>;
    type SerializeTupleVariant = Impossible<Dollars, Error>;
    type SerializeMap = Impossible<Dollars, Error>;
    type SerializeStruct = Impossible<Dollars, Error>;
    type SerializeStructVariant = Impossible<Dollars, Error>;

    plain_keys!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_bool: bool
    );

    fn serialize_f32(self, v: f32) -> Result<Dollars, Error> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Dollars, Error> {
        self.plain(&float(v))
    }
    fn serialize_char(self, v: char) -> Result<Dollars, Error> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Dollars, Error> {
        self.text(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Dollars, Error> {
        Err(not_a_key())
    }
    fn serialize_none(self) -> Result<Dollars, Error> {
        self.plain("null")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Dollars, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Dollars, Error> {
        self.plain("null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Dollars, Error> {
        self.plain("null")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Dollars, Error> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Dollars, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Dollars, Error> {
        Err(not_a_key())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a_key())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_a_key())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_key())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_key())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_a_key())
    }
}

#[cfg(test)]
mod tests {
    use super::{Dollars, typed_entry};
    use proptest::prelude::*;
    use serde_yaml_ng::{Mapping, Value};
    use std::collections::BTreeMap;

    /// What compose's writer did before: the tree, its strings escaped.
    fn through_the_tree(value: &impl serde::Serialize, escape: bool) -> String {
        fn double(v: &mut Value) {
            match v {
                Value::String(s) => *s = s.replace('$', "$$"),
                Value::Sequence(items) => items.iter_mut().for_each(double),
                Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| double(v)),
                _ => {}
            }
        }
        let mut tree = serde_yaml_ng::to_value(value).expect("a tree");
        if escape {
            double(&mut tree);
        }
        let mut out = String::new();
        super::super::entry(&mut out, &Value::String(String::from("key")), &tree, 2);
        out
    }

    fn typed(value: &impl serde::Serialize, dollars: Dollars) -> String {
        let mut out = String::new();
        typed_entry(&mut out, "key", value, 2, dollars).expect("written");
        out
    }

    /// Strings of what the writer treats apart: `$`, quotes, line breaks,
    /// trailing blanks, keywords, long runs, non-ASCII.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_]{0,6}",
            "[a-z$ :\"\\\\\n\t#-]{0,12}",
            Just(String::from("yes")),
            Just(String::from("a\nb\n")),
            Just(String::from(" x\ny")),
            Just(String::from("é\u{2028}日")),
            Just("K".repeat(1_100)),
        ]
    }

    fn tree() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<u64>().prop_map(|n| Value::Number(n.into())),
            (-1.0e9f64..1.0e9).prop_map(|f| Value::Number(f.into())),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Sequence),
                // Keys as the strings are, and one that reads as a YAML tag.
                proptest::collection::vec(
                    (prop_oneof![text(), Just(String::from("!tag"))], inner),
                    0..4
                )
                .prop_map(|entries| Value::Mapping(
                    entries
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect::<Mapping>()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any value is written as its tree was, escaped or not.
        #[test]
        fn the_same_text_as_the_tree(value in tree()) {
            prop_assert_eq!(typed(&value, Dollars::AsIs), through_the_tree(&value, false));
            prop_assert_eq!(typed(&value, Dollars::Doubled), through_the_tree(&value, true));
        }
    }

    /// A service's `environment` keeps its `$`; every other value, and an
    /// `environment` deeper down, has them doubled.
    #[test]
    fn dollars_doubled_but_in_the_environment() {
        #[derive(serde::Serialize)]
        struct Service {
            environment: BTreeMap<&'static str, &'static str>,
            labels: BTreeMap<&'static str, &'static str>,
            command: Vec<&'static str>,
        }
        let service = Service {
            environment: BTreeMap::from([("A", "${SECRET}"), ("B", "$$")]),
            labels: BTreeMap::from([("environment", "$x")]),
            command: vec!["echo $HOME"],
        };
        assert_eq!(
            typed(&service, Dollars::DoubledButEnvironment),
            "  key:\n    environment:\n      A: \"${SECRET}\"\n      B: \"$$\"\n    labels:\n      environment: \"$$x\"\n    command:\n      - \"echo $$HOME\"\n"
        );
    }

    /// Typed shapes the tree holds otherwise: options, unit variants, numbers
    /// as keys, empty collections, a mapping as a list's item.
    #[test]
    fn typed_shapes_as_their_trees() {
        #[derive(serde::Serialize)]
        enum Mode {
            Fast,
        }
        #[derive(serde::Serialize)]
        #[serde(untagged)]
        enum Limit {
            Same(i64),
            Split { soft: i64, hard: i64 },
        }
        #[derive(serde::Serialize)]
        struct Shapes {
            none: Option<u8>,
            some: Option<f32>,
            mode: Mode,
            by_number: BTreeMap<u16, bool>,
            empty_list: Vec<u8>,
            empty_map: BTreeMap<String, u8>,
            limits: Vec<Limit>,
            pair: (char, &'static str),
        }
        let shapes = Shapes {
            none: None,
            some: Some(1.5),
            mode: Mode::Fast,
            by_number: BTreeMap::from([(8080, true)]),
            empty_list: Vec::new(),
            empty_map: BTreeMap::new(),
            limits: vec![Limit::Same(1), Limit::Split { soft: 1, hard: 2 }],
            pair: ('$', "multi\nline"),
        };
        for dollars in [Dollars::AsIs, Dollars::Doubled] {
            assert_eq!(
                typed(&shapes, dollars),
                through_the_tree(&shapes, dollars == Dollars::Doubled)
            );
        }
    }
}
