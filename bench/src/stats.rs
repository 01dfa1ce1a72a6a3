//! Per-operation results of a run: every latency of a successful call (kept whole and sorted at
//! the end, so percentiles are exact), and failed calls counted per AWS error code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// What one operation recorded during a run.
#[derive(Default)]
pub struct Recorder {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
}

impl Recorder {
    pub fn success(&mut self, latency: Duration) {
        self.latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn failure(&mut self, code: String) {
        *self.errors.entry(code).or_default() += 1;
    }

    pub fn merge(&mut self, other: Recorder) {
        self.latencies_us.extend(other.latencies_us);
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
    }

    /// The summary over a run that lasted `elapsed`.
    pub fn summary(mut self, elapsed: Duration) -> Summary {
        self.latencies_us.sort_unstable();
        let ok = self.latencies_us.len() as u64;
        let ms = |q: f64| percentile(&self.latencies_us, q) as f64 / 1000.0;
        Summary {
            ok,
            errors: self.errors,
            throughput_per_s: ok as f64 / elapsed.as_secs_f64(),
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            max_ms: self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0,
        }
    }
}

/// The nearest-rank percentile `q` (0..=1) of sorted values; 0 for none.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One operation's numbers, as printed and written to the JSON output.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Successful calls.
    pub ok: u64,
    /// Failed calls per error code (`__type`, or `HTTP<status>`, or `transport`).
    pub errors: BTreeMap<String, u64>,
    /// Successful calls per second of the run.
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 50);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&values, 1.0), 100);
        assert_eq!(percentile(&[7], 0.5), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn summary_counts_successes_and_errors() {
        let mut a = Recorder::default();
        a.success(Duration::from_millis(2));
        a.failure("ThrottlingException".into());
        let mut b = Recorder::default();
        b.success(Duration::from_millis(4));
        b.failure("ThrottlingException".into());
        b.failure("HTTP500".into());
        a.merge(b);
        let s = a.summary(Duration::from_secs(2));
        assert_eq!(s.ok, 2);
        assert_eq!(s.throughput_per_s, 1.0);
        assert_eq!(s.p50_ms, 2.0);
        assert_eq!(s.p99_ms, 4.0);
        assert_eq!(s.errors["ThrottlingException"], 2);
        assert_eq!(s.errors["HTTP500"], 1);
    }
}
