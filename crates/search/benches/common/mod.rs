//! What the search benchmarks share: timing a call over many questions.

use std::time::{Duration, Instant};

/// The `p` quantile of sorted durations, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// Times `f(i)` for each of `questions` questions; returns the p50 and p99 in milliseconds.
pub fn measure(questions: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let mut times: Vec<Duration> = (0..questions)
        .map(|i| {
            let started = Instant::now();
            f(i);
            started.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}
