//! libFuzzer entry point of [`paycrypt_fuzz::tr34_inspect`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycrypt_fuzz::tr34_inspect(data));
