//! The committed generated modules of `crates/api` are exactly what the generator writes from the
//! committed models.

use paycrypt_api_gen::Plane;

#[test]
fn control_plane_module_is_up_to_date() {
    check(Plane::Control);
}

#[test]
fn data_plane_module_is_up_to_date() {
    check(Plane::Data);
}

fn check(plane: Plane) {
    let model = std::fs::read_to_string(plane.model_path()).expect("model readable");
    let generated = paycrypt_api_gen::generate(&model, plane).expect("model generates");
    let committed =
        std::fs::read_to_string(plane.output_path()).expect("generated module readable");
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is stale from line {}: run `cargo run -p paycrypt-api-gen`",
            plane.output_path().display(),
            line + 1
        );
    }
}
