//! libFuzzer entry point of [`paycrypt_fuzz::sigv4`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycrypt_fuzz::sigv4(data));
