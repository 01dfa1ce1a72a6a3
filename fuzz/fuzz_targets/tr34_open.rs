//! libFuzzer entry point of [`paycrypt_fuzz::tr34_open`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycrypt_fuzz::tr34_open(data));
