//! The committed `crates/api/src/generated.rs` is exactly what the generator writes from the
//! committed model.

#[test]
fn generated_file_is_up_to_date() {
    let model = std::fs::read_to_string(paycrypt_api_gen::model_path()).expect("model readable");
    let generated = paycrypt_api_gen::generate(&model).expect("model generates");
    let committed =
        std::fs::read_to_string(paycrypt_api_gen::output_path()).expect("generated.rs readable");
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "crates/api/src/generated.rs is stale from line {}: run `cargo run -p paycrypt-api-gen`",
            line + 1
        );
    }
}
