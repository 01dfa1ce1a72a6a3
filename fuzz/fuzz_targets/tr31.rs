//! libFuzzer entry point of [`paycrypt_fuzz::tr31`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycrypt_fuzz::tr31(data));
