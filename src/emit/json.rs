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
}
