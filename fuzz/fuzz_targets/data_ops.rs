//! libFuzzer entry point of [`paycrypt_fuzz::data_ops`], its service set up before fuzzing starts.
#![no_main]

libfuzzer_sys::fuzz_target!(init: paycrypt_fuzz::data_ops_setup(), |data: &[u8]| {
    paycrypt_fuzz::data_ops(data)
});
