//! Values that become the arguments of an event or an acknowledgement.

use crate::{to_value, Value, ValueError};
use serde::Serialize;

/// Values that become the arguments of an event or ack: a tuple of serializable values (each element one
/// argument), `()` for none, a `Vec<Value>` (each element one argument), or one plain value (a string,
/// number, boolean, [`Value`], `serde_json::Value` or `bytes::Bytes`) as the only argument, as in
/// `emit("greeting", "hello")`.
///
/// ```
/// use socketio_parser::IntoArgs;
/// let args = ("hello", 42, bytes::Bytes::from_static(b"\x01")).into_args().unwrap();
/// assert_eq!(args.len(), 3);
/// assert!(args[2].as_bytes().is_some());
/// // One plain value is the only argument.
/// assert_eq!("hello".into_args().unwrap(), vec![socketio_parser::Value::from("hello")]);
/// ```
pub trait IntoArgs {
    /// The arguments.
    fn into_args(self) -> Result<Vec<Value>, ValueError>;
}

impl IntoArgs for Vec<Value> {
    fn into_args(self) -> Result<Vec<Value>, ValueError> {
        Ok(self)
    }
}

macro_rules! single_arg {
    ($($t:ty),+) => {$(
        impl IntoArgs for $t {
            fn into_args(self) -> Result<Vec<Value>, ValueError> {
                Ok(vec![to_value(&self)?])
            }
        }
    )+};
}
single_arg!(
    &str,
    String,
    &String,
    bool,
    char,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64,
    serde_json::Value
);

impl IntoArgs for Value {
    fn into_args(self) -> Result<Vec<Value>, ValueError> {
        Ok(vec![self])
    }
}

impl IntoArgs for bytes::Bytes {
    fn into_args(self) -> Result<Vec<Value>, ValueError> {
        Ok(vec![Value::Binary(self)])
    }
}

impl IntoArgs for () {
    fn into_args(self) -> Result<Vec<Value>, ValueError> {
        Ok(Vec::new())
    }
}

macro_rules! tuple_args {
    ($($name:ident),+) => {
        impl<$($name: Serialize),+> IntoArgs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Result<Vec<Value>, ValueError> {
                let ($($name,)+) = self;
                Ok(vec![$(to_value(&$name)?),+])
            }
        }
    };
}
tuple_args!(A);
tuple_args!(A, B);
tuple_args!(A, B, C);
tuple_args!(A, B, C, D);
tuple_args!(A, B, C, D, E);
tuple_args!(A, B, C, D, E, F);
tuple_args!(A, B, C, D, E, F, G);
tuple_args!(A, B, C, D, E, F, G, H);
