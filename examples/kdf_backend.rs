//! Prints the PBKDF2 backend this process selects (self-test + calibration, `docs/kdf.md`) and
//! how long choosing took. Run it several times: each run is a fresh calibration.
//!
//! ```sh
//! for i in 1 2 3 4 5; do cargo run --release --example kdf_backend; done
//! ```

fn main() {
    let start = std::time::Instant::now();
    let selected = phsync::kdf::Backend::selected();
    let took = start.elapsed();
    let available: Vec<&str> = phsync::kdf::Backend::available()
        .iter()
        .map(|b| b.name())
        .collect();
    println!(
        "selected {} (chosen in {:.1} ms; available: {})",
        selected.name(),
        took.as_secs_f64() * 1e3,
        available.join(", ")
    );
    for (backend, best) in &phsync::kdf::selection().calibration {
        println!(
            "  calibration {:<14} {:>7.1} µs",
            backend.name(),
            best.as_secs_f64() * 1e6
        );
    }
}
