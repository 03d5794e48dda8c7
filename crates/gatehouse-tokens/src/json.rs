//! A JSON object with a member named twice is ambiguous: one parser reads the
//! first, another the last (RFC 8725 §3.x, RFC 7515 §5.2 asks to reject it).
//! serde_json keeps the last one silently, so every header and claims set is
//! walked once here first, and refused if any object repeats a name or nests
//! deeper than a token ever needs.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Nesting a token of Gatehouse never exceeds (claims hold strings and flat lists).
const MAX_DEPTH: usize = 8;

/// Whether `bytes` is one JSON object with no name repeated in any object within.
pub(crate) fn is_unambiguous_object(bytes: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let ok = Walk {
        depth: 0,
        top: true,
    }
    .deserialize(&mut de)
    .is_ok();
    ok && de.end().is_ok()
}

struct Walk {
    depth: usize,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom("nested too deeply"));
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name) {
                return Err(de::Error::custom("duplicate member"));
            }
            map.next_value_seed(Walk {
                depth: self.depth + 1,
                top: false,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.top {
            return Err(de::Error::custom("not an object"));
        }
        while seq
            .next_element_seed(Walk {
                depth: self.depth + 1,
                top: false,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Walk {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.top {
            Err(E::custom("not an object"))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_unambiguous_object;

    #[test]
    fn objects_with_a_repeated_name_anywhere_are_refused() {
        // proves: TK-3
        assert!(is_unambiguous_object(
            br#"{"a":1,"b":[1,{"c":2}],"d":{"e":null}}"#
        ));
        assert!(!is_unambiguous_object(br#"{"exp":1,"exp":2}"#));
        assert!(!is_unambiguous_object(br#"{"a":{"x":1,"x":1}}"#));
        assert!(!is_unambiguous_object(br#"{"a":[{"x":1,"x":2}]}"#));
        // Escapes spelling the same name are the same name.
        assert!(!is_unambiguous_object(br#"{"exp":1,"\u0065xp":2}"#));
        for not_one_object in [&b"[]"[..], b"1", b"\"x\"", b"{} {}", b"{", b""] {
            assert!(!is_unambiguous_object(not_one_object));
        }
        let deep = format!("{}1{}", "{\"a\":".repeat(12), "}".repeat(12));
        assert!(!is_unambiguous_object(deep.as_bytes()));
    }
}
