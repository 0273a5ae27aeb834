//! The validator's view of one event's JSON: a tree that borrows its strings from the text.
//!
//! `serde_json::Value` allocates every member name and string and keeps each object in a `BTreeMap`;
//! for short objects read once, that was about half of the validator's time (bench/README.md,
//! "The validator's tree"). [`Node`] keeps an object's members in a `Vec`, in the order sent, and a
//! string without escapes as a slice of the text. What the validator sees is the same: a member
//! sent twice is its last value, as `Value` keeps it ([`Obj::get`] searches from the end), and the
//! free-form parts (`traits`, a custom event's properties) become `Value` exactly as `Value` would
//! have parsed them ([`Node::to_value`]).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// One JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Obj<'a>),
}

/// A JSON object's members, in the order sent (a name sent twice appears twice).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Obj<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Obj<'a> {
    /// The member's value; of a name sent twice, the last (as `serde_json::Value` keeps it).
    pub(crate) fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// As a `serde_json::Map`: what parsing the same text into a `Value` gives.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for (k, v) in &self.0 {
            map.insert(String::from(k.as_ref()), v.to_value());
        }
        map
    }
}

impl<'a> Node<'a> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Node::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::Array(a) => Some(a),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            Node::Object(o) => Some(o),
            _ => None,
        }
    }

    /// As a `serde_json::Value`: what parsing the same text into a `Value` gives.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(String::from(s.as_ref())),
            Node::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Node::Object(o) => Value::Object(o.to_map()),
        }
    }

    /// The tree of a `Value` (borrowing its strings), for callers that hold one.
    pub(crate) fn from_value(v: &'a Value) -> Node<'a> {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(Cow::Borrowed(s)),
            Value::Array(a) => Node::Array(a.iter().map(Node::from_value).collect()),
            Value::Object(o) => {
                Node::Object(Obj(o.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::from_value(v))).collect()))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Node<'de>, E> {
        // As `Value` does: a float that is not finite (which JSON text cannot hold) is null.
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(String::from(s))))
    }

    fn visit_string<E>(self, s: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(s)))
    }

    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node<'de>, D::Error> {
        Node::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Node::Object(Obj(members)))
    }
}

/// A member name, borrowed from the text when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(String::from(s))))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(json: &str) -> Node<'_> {
        serde_json::from_str(json).unwrap()
    }

    /// Whatever the text, the tree's `Value` is the one `serde_json` parses: names sent twice, escapes,
    /// numbers of each kind, nesting.
    #[test]
    fn a_tree_reads_as_the_value_serde_json_parses() {
        for json in [
            r#"{"a":1,"b":[true,false,null],"a":{"x":"y"}}"#,
            r#"{"k\u00e9y":"esc\"aped\n","n":-12,"u":18446744073709551615,"f":1.5e3,"z":0.0,"e":[]}"#,
            r#"{"deep":{"deeper":{"deepest":[{"o":{}}]}},"dup":1,"dup":2,"dup":null}"#,
            r#"[1,"two",{"3":4}]"#,
            r#""just a string""#,
            "12345678901234567890123",
        ] {
            let value: Value = serde_json::from_str(json).unwrap();
            assert_eq!(node(json).to_value(), value, "{json}");
            assert_eq!(Node::from_value(&value).to_value(), value, "{json}");
        }
    }

    #[test]
    fn a_name_sent_twice_is_its_last_value_and_plain_strings_are_borrowed() {
        let text = r#"{"sku":"first","sku":"second","esc":"a\tb"}"#;
        let tree = node(text);
        let o = tree.as_object().unwrap();
        assert_eq!(o.get("sku").and_then(Node::as_str), Some("second"));
        assert!(matches!(o.get("sku"), Some(Node::String(Cow::Borrowed(_)))));
        assert_eq!(o.get("esc").and_then(Node::as_str), Some("a\tb"));
        assert_eq!(o.get("absent"), None);
        assert_eq!(o.to_map().len(), 2);
    }

    /// Text `serde_json` refuses, the tree refuses too (with its message).
    #[test]
    fn bad_text_is_refused_with_serde_jsons_message() {
        for json in [r#"{"a":"\ud800"}"#, r#"{"a":1e999}"#, r#"{"a":1,}"#, "{", &("[".repeat(200) + &"]".repeat(200))] {
            let expected = serde_json::from_str::<Value>(json).unwrap_err().to_string();
            let got = serde_json::from_str::<Node<'_>>(json).unwrap_err().to_string();
            assert_eq!(got, expected, "{json}");
        }
    }
}
