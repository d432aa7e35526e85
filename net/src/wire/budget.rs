//! A memory budget for decoding: a serde [`Deserializer`] wrapper that
//! charges every element of a sequence or map against a byte budget before
//! the element is read.
//!
//! The byte limit alone bounds what decoding *reads*, not what it
//! *allocates*: `Vec<Option<[u64; 32]>>` spends one byte per `None` on the
//! wire and 264 in memory, and `Vec<()>` spends nothing per element at all,
//! so a lying length makes the decoder loop without reading. Charging
//! `size_of::<T>()` (at least one byte) per element of every sequence and
//! map, whatever the format, bounds both. Everything else a decoded value
//! owns is either copied from the input (strings, byte buffers: no more than
//! the input's length) or inline in its parent (charged with it); the one
//! exception is a `Box<T>` (or `Arc<T>`) of a large sized `T`, which is
//! charged as a pointer.
//!
//! Each wrapper forwards every call to the wrapped value and wraps what
//! that call hands on (visitors, seeds, accesses), so no nested sequence
//! escapes the budget. A wrapper overrides every method: serde's defaults
//! would re-route some calls (`visit_i8` to `visit_i64`, say) and change
//! what the wrapped visitor sees.

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// Bytes left for decoded elements, and whether a charge ever failed.
#[derive(Debug)]
pub(super) struct Budget {
    left: Cell<u64>,
    exceeded: Cell<bool>,
}

impl Budget {
    pub(super) fn new(bytes: u64) -> Self {
        Self {
            left: Cell::new(bytes),
            exceeded: Cell::new(false),
        }
    }

    /// Whether decoding failed because the budget ran out (and not for the
    /// reason the format's error gives).
    pub(super) fn exceeded(&self) -> bool {
        self.exceeded.get()
    }

    /// Takes one element of type `T` out of the budget.
    fn charge<T, E: de::Error>(&self) -> Result<(), E> {
        let cost = std::mem::size_of::<T>().max(1) as u64;
        match self.left.get().checked_sub(cost) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom("decoding would exceed its memory budget"))
            }
        }
    }
}

/// A [`DeserializeSeed`] whose deserializer is budgeted. The entry point:
/// `Budgeted::new(PhantomData::<T>, &budget)` decodes a `T`.
pub(super) struct Budgeted<'b, S> {
    inner: S,
    budget: &'b Budget,
    /// Whether the elements a visitor or access hands out are charged:
    /// `true` for sequences and maps, `false` for tuples, structs and
    /// their variants, whose fields are inline in a value already charged
    /// (formats such as bincode read those as sequences too).
    charged: bool,
}

impl<'b, S> Budgeted<'b, S> {
    pub(super) fn new(inner: S, budget: &'b Budget) -> Self {
        Self {
            inner,
            budget,
            charged: true,
        }
    }

    fn wrap<T>(&self, inner: T) -> Budgeted<'b, T> {
        Budgeted {
            inner,
            budget: self.budget,
            charged: self.charged,
        }
    }

    /// Wraps the visitor of a tuple or struct, whose fields are inline.
    fn wrap_inline<T>(&self, inner: T) -> Budgeted<'b, T> {
        Budgeted {
            inner,
            budget: self.budget,
            charged: false,
        }
    }

    /// Takes one element of type `T` out of the budget, if elements here
    /// are charged.
    fn charge<T, E: de::Error>(&self) -> Result<(), E> {
        if self.charged {
            self.budget.charge::<T, E>()
        } else {
            Ok(())
        }
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Budgeted<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        let deserializer = Budgeted::new(deserializer, self.budget);
        self.inner.deserialize(deserializer)
    }
}

// ===== impl Deserializer =====

/// Forwards `deserialize_*` methods that take only a visitor.
macro_rules! forward_deserialize {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            let visitor = Budgeted::new(visitor, self.budget);
            self.inner.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Budgeted<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_unit
        deserialize_seq deserialize_map deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = Budgeted::new(visitor, self.budget);
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = Budgeted::new(visitor, self.budget);
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap_inline(visitor);
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap_inline(visitor);
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap_inline(visitor);
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = Budgeted::new(visitor, self.budget);
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

// ===== impl Visitor =====

/// Forwards `visit_*` methods that take one plain value.
macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
            self.inner.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Budgeted<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool)
        visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128)
        visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.visit_some(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.visit_newtype_struct(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let seq = self.wrap(seq);
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let map = self.wrap(map);
        self.inner.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let data = self.wrap(data);
        self.inner.visit_enum(data)
    }
}

// ===== impl SeqAccess, MapAccess =====

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Budgeted<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        // Charged before the read: an element that reads nothing (a unit)
        // must still cost something, or a lying length loops for ever.
        self.charge::<T::Value, A::Error>()?;
        let seed = self.wrap(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Budgeted<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.charge::<K::Value, A::Error>()?;
        let seed = self.wrap(seed);
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.charge::<T::Value, A::Error>()?;
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

// ===== impl EnumAccess, VariantAccess =====

impl<'b, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Budgeted<'b, A> {
    type Error = A::Error;
    type Variant = Budgeted<'b, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let seed = self.wrap(seed);
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((value, Budgeted::new(variant, self.budget)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Budgeted<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.wrap_inline(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.wrap_inline(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}
