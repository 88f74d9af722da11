#![allow(unused_imports, dead_code)]
mod deser;
mod stage1;

pub(crate) use deser::parse_str;
pub(crate) use stage1::SimdInput;
