//! Helpers shared by the benchmarks that are plain programs (`harness = false`).

/// The CPU's model name from `/proc/cpuinfo` (empty where there is none), to name it beside
/// every figure.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default()
}
