//! `from_value`: a [`Value`] into any `Deserialize` type, handing binary to byte buffers.

use super::{Map, Value};
use crate::ValueError;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

/// Converts a [`Value`] into any `Deserialize` type.
///
/// [`Value::Binary`] feeds byte buffers (`bytes::Bytes`, `serde_bytes::ByteBuf`, `Vec<u8>` through
/// `serde_bytes`), objects feed structs and maps, arrays feed sequences and tuples.
///
/// ```
/// use socketio_parser::{from_value, Value};
/// let v = Value::from(serde_json::json!({"x": 1, "tags": ["a", "b"]}));
/// #[derive(serde::Deserialize)]
/// struct Point { x: i32, tags: Vec<String> }
/// let p: Point = from_value(v).unwrap();
/// assert_eq!((p.x, p.tags.len()), (1, 2));
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

/// Converts the arguments of an event into `T` the way JavaScript hands arguments to a listener: a
/// tuple (or tuple struct) of N elements takes the first N arguments, a missing one is `null` (so an
/// `Option` element is `None`), and arguments past N are ignored. Any other `T` (`Vec<Value>`, a struct
/// read from the array) sees the arguments as one array, as [`from_value`] would.
///
/// ```
/// use socketio_parser::{from_args, Value};
/// let args = vec![Value::from("room-1")];
/// let (room, limit): (String, Option<u32>) = from_args(args).unwrap();
/// assert_eq!((room.as_str(), limit), ("room-1", None));
/// let extra = vec![Value::from("a"), Value::from(2), Value::from(true)];
/// let (first,): (String,) = from_args(extra.clone()).unwrap();
/// assert_eq!(first, "a");
/// // `()` takes any arguments, as a listener without parameters.
/// let () = from_args(extra).unwrap();
/// ```
pub fn from_args<T: DeserializeOwned>(args: Vec<Value>) -> Result<T, ValueError> {
    T::deserialize(Args(args))
}

/// The arguments of an event, deserialized by [`from_args`].
struct Args(Vec<Value>);

impl Args {
    /// Exactly `len` arguments: the missing ones `null`, the extra ones dropped.
    fn fitted(mut self, len: usize) -> Vec<Value> {
        self.0.resize(len, Value::Null);
        self.0
    }
}

impl<'de> de::Deserializer<'de> for Args {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        Value::Array(self.0).deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, ValueError> {
        visit_array(self.fitted(len), visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visit_array(self.fitted(len), visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    /// `()`: a listener without parameters, which takes any arguments.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit_struct seq map struct enum identifier ignored_any
    }
}

impl Value {
    fn kind(&self) -> de::Unexpected<'_> {
        match self {
            Value::Null => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    de::Unexpected::Unsigned(u)
                } else if let Some(i) = n.as_i64() {
                    de::Unexpected::Signed(i)
                } else {
                    de::Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => de::Unexpected::Str(s),
            Value::Binary(b) => de::Unexpected::Bytes(b),
            Value::Array(_) => de::Unexpected::Seq,
            Value::Object(_) => de::Unexpected::Map,
        }
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Binary(b) => visitor.visit_byte_buf(Vec::from(b)),
            Value::Array(a) => visit_array(a, visitor),
            Value::Object(o) => visit_object(o, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::String(variant) => visitor.visit_enum(EnumAccess { variant, content: None }),
            Value::Object(o) if o.len() == 1 => {
                let Some((variant, content)) = o.into_iter().next() else {
                    return Err(ValueError::new("an enum object needs exactly one entry"));
                };
                visitor.visit_enum(EnumAccess { variant, content: Some(content) })
            }
            other => Err(de::Error::invalid_type(other.kind(), &"a string or an object with one entry")),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::String(s) => visitor.visit_byte_buf(s.into_bytes()),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            other => Err(de::Error::invalid_type(other.kind(), &"null")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        drop(self);
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

fn visit_array<'de, V: Visitor<'de>>(array: Vec<Value>, visitor: V) -> Result<V::Value, ValueError> {
    let len = array.len();
    let mut seq = de::value::SeqDeserializer::new(array.into_iter());
    let out = visitor.visit_seq(&mut seq)?;
    seq.end().map_err(|_| de::Error::invalid_length(len, &"fewer elements in the array"))?;
    Ok(out)
}

fn visit_object<'de, V: Visitor<'de>>(object: Map, visitor: V) -> Result<V::Value, ValueError> {
    let mut map = de::value::MapDeserializer::new(object.into_iter().map(|(k, v)| (Key(k), v)));
    let out = visitor.visit_map(&mut map)?;
    map.end()?;
    Ok(out)
}

impl IntoDeserializer<'_, ValueError> for Value {
    type Deserializer = Value;
    fn into_deserializer(self) -> Value {
        self
    }
}

/// An object key: a string that integer types may also parse, like JSON map keys.
struct Key(String);

impl IntoDeserializer<'_, ValueError> for Key {
    type Deserializer = Key;
    fn into_deserializer(self) -> Key {
        self
    }
}

macro_rules! parse_key {
    ($($method:ident => $visit:ident: $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            match self.0.parse::<$t>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => visitor.visit_string(self.0),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Key {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_string(self.0)
    }

    parse_key!(
        deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64,
        deserialize_bool => visit_bool: bool
    );

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_enum(EnumAccess { variant: self.0, content: None })
    }

    forward_to_deserialize_any! {
        i128 u128 f32 f64 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

/// An enum given as `"Variant"` or `{ "Variant": content }`.
struct EnumAccess {
    variant: String,
    content: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for EnumAccess {
    type Error = ValueError;
    type Variant = VariantAccess;
    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantAccess), ValueError> {
        let variant = seed.deserialize(Key(self.variant))?;
        Ok((variant, VariantAccess(self.content)))
    }
}

/// The content of an enum variant.
struct VariantAccess(Option<Value>);

impl<'de> de::VariantAccess<'de> for VariantAccess {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(other.kind(), &"a unit variant")),
        }
    }
    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, ValueError> {
        match self.0 {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a newtype variant")),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Array(a)) => visit_array(a, visitor),
            Some(other) => Err(de::Error::invalid_type(other.kind(), &"a tuple variant")),
            None => Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a tuple variant")),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(Value::Object(o)) => visit_object(o, visitor),
            Some(other) => Err(de::Error::invalid_type(other.kind(), &"a struct variant")),
            None => Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a struct variant")),
        }
    }
}
