//! Values that become the arguments of an event or an acknowledgement.

use crate::{to_value, Value, ValueError};
use serde::Serialize;

/// Values that become the arguments of an event or ack: a tuple of serializable values (each element one
/// argument), `()` for none, or a `Vec<Value>`.
///
/// ```
/// use socketio_parser::IntoArgs;
/// let args = ("hello", 42, bytes::Bytes::from_static(b"\x01")).into_args().unwrap();
/// assert_eq!(args.len(), 3);
/// assert!(args[2].as_bytes().is_some());
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
