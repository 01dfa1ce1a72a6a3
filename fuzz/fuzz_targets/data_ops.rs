//! libFuzzer entry point of [`paycrypt_fuzz::data_ops`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycrypt_fuzz::data_ops(data));
