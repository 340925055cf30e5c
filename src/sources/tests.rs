#[test]
fn jitter_is_in_the_unit_interval_and_spread() {
    let draws: Vec<f64> = (0..1000).map(|_| super::jitter()).collect();
    assert!(draws.iter().all(|j| (0.0..1.0).contains(j)));
    let low = draws.iter().filter(|j| **j < 0.5).count();
    // 1,000 fair coin flips land outside 350..650 with a probability far below 1e-20.
    assert!((350..650).contains(&low), "{low} of 1000 below one half");
}
