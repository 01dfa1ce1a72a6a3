//! libFuzzer entry point of [`paycrypt_fuzz::certificate`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycrypt_fuzz::certificate(data));
