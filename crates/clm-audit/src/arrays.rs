//! Uniform access to the string and number columns the scan reads, whatever Arrow type a
//! (possibly non-canonical) file gave them.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

/// A column of text, row-addressable.
pub enum StrCol<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Binary(&'a arrow_array::BinaryArray),
    LargeBinary(&'a arrow_array::LargeBinaryArray),
    BinaryView(&'a arrow_array::BinaryViewArray),
    /// Dictionary-encoded text, as the scan reads string columns.
    Dict(&'a arrow_array::Int32Array, &'a arrow_array::StringArray),
}

impl<'a> StrCol<'a> {
    pub fn new(a: &'a ArrayRef) -> Option<StrCol<'a>> {
        Some(match a.data_type() {
            DataType::Utf8 => StrCol::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => StrCol::LargeUtf8(a.as_string::<i64>()),
            DataType::Utf8View => StrCol::View(a.as_string_view()),
            DataType::Binary => StrCol::Binary(a.as_binary::<i32>()),
            DataType::LargeBinary => StrCol::LargeBinary(a.as_binary::<i64>()),
            DataType::BinaryView => StrCol::BinaryView(a.as_binary_view()),
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                let d = a.as_dictionary::<Int32Type>();
                StrCol::Dict(d.keys(), d.values().as_string::<i32>())
            }
            _ => return None,
        })
    }

    pub fn len(&self) -> usize {
        match self {
            StrCol::Utf8(a) => a.len(),
            StrCol::LargeUtf8(a) => a.len(),
            StrCol::View(a) => a.len(),
            StrCol::Binary(a) => a.len(),
            StrCol::LargeBinary(a) => a.len(),
            StrCol::BinaryView(a) => a.len(),
            StrCol::Dict(k, _) => k.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of row `i`; binary is read as UTF-8, invalid bytes replaced.
    pub fn get(&self, i: usize) -> Option<Cow<'a, str>> {
        fn bin(b: &[u8]) -> Cow<'_, str> {
            String::from_utf8_lossy(b)
        }
        match self {
            StrCol::Utf8(a) => a.is_valid(i).then(|| Cow::Borrowed(a.value(i))),
            StrCol::LargeUtf8(a) => a.is_valid(i).then(|| Cow::Borrowed(a.value(i))),
            StrCol::View(a) => a.is_valid(i).then(|| Cow::Borrowed(a.value(i))),
            StrCol::Binary(a) => a.is_valid(i).then(|| bin(a.value(i))),
            StrCol::LargeBinary(a) => a.is_valid(i).then(|| bin(a.value(i))),
            StrCol::BinaryView(a) => a.is_valid(i).then(|| bin(a.value(i))),
            StrCol::Dict(k, v) => {
                if !k.is_valid(i) {
                    return None;
                }
                let j = k.value(i) as usize;
                v.is_valid(j).then(|| Cow::Borrowed(v.value(j)))
            }
        }
    }
}

/// Calls `f` with every non-null integer of an integer column, widened.
pub fn for_each_int(a: &ArrayRef, mut f: impl FnMut(i128)) {
    macro_rules! each {
        ($t:ty) => {
            for v in a.as_primitive::<$t>().iter().flatten() {
                f(v as i128)
            }
        };
    }
    match a.data_type() {
        DataType::Int8 => each!(Int8Type),
        DataType::Int16 => each!(Int16Type),
        DataType::Int32 => each!(Int32Type),
        DataType::Int64 => each!(Int64Type),
        DataType::UInt8 => each!(UInt8Type),
        DataType::UInt16 => each!(UInt16Type),
        DataType::UInt32 => each!(UInt32Type),
        DataType::UInt64 => each!(UInt64Type),
        _ => {}
    }
}

/// Calls `f` with the integer part of every non-null decimal.
pub fn for_each_decimal_int_part(a: &ArrayRef, mut f: impl FnMut(i128)) {
    if let DataType::Decimal128(_, scale) = a.data_type() {
        let div = if *scale > 0 {
            10i128.checked_pow(*scale as u32).unwrap_or(1)
        } else {
            1
        };
        let mul = if *scale < 0 {
            10i128.checked_pow((-*scale) as u32).unwrap_or(1)
        } else {
            1
        };
        for v in a
            .as_primitive::<arrow_array::types::Decimal128Type>()
            .iter()
            .flatten()
        {
            f((v / div).saturating_mul(mul))
        }
    }
}
