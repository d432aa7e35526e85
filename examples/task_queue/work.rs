//! Running one attempt of a task, and the direct computation the client
//! checks the results against.

use std::time::Duration;

use crate::protocol::{TaskSpec, Work};

/// Runs attempt `attempt` (from 1) of `task` within its time limit.
///
/// CPU-bound work runs on tokio's blocking pool so a worker node's
/// actors stay responsive. A time limit stops waiting for such work but
/// cannot interrupt its thread: it finishes in the background and its
/// answer is dropped.
pub async fn run(task: &TaskSpec, attempt: u32) -> Result<u64, String> {
    let limit = task.time_limit();
    match tokio::time::timeout(limit, attempt_once(&task.work, attempt)).await {
        Ok(result) => result,
        Err(_) => Err(format!("time limit of {limit:?} exceeded")),
    }
}

async fn attempt_once(work: &Work, attempt: u32) -> Result<u64, String> {
    match *work {
        Work::SumPrimes { from, to } => {
            tokio::task::spawn_blocking(move || sum_primes_by_trial_division(from, to))
                .await
                .map_err(|e| format!("the computation panicked: {e}"))
        }
        Work::Sleep { ms, value } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(value)
        }
        Work::Flaky { failures, value } if attempt <= failures => {
            let _ = value;
            Err(format!(
                "failed on purpose: attempt {attempt} of the first {failures} that fail"
            ))
        }
        Work::Flaky { value, .. } => Ok(value),
        Work::Hang => std::future::pending().await,
        Work::Sum { ref values } => Ok(values.iter().sum()),
    }
}

/// The sum of the primes in `from..to`, one trial division at a time
/// (Parallel Python's example: deliberately the slow, obvious way).
pub fn sum_primes_by_trial_division(from: u64, to: u64) -> u64 {
    (from..to).filter(|&n| is_prime(n)).sum()
}

fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n.is_multiple_of(2) || n.is_multiple_of(3) {
        return false;
    }
    let mut divisor = 5;
    while divisor * divisor <= n {
        if n.is_multiple_of(divisor) || n.is_multiple_of(divisor + 2) {
            return false;
        }
        divisor += 6;
    }
    true
}

/// For each `from..to` range (ascending, inside `0..below`), the sum of
/// its primes, by a sieve of Eratosthenes: the direct computation the
/// distributed answers are checked against.
pub fn sum_primes_by_sieve(below: u64, ranges: &[(u64, u64)]) -> Vec<u64> {
    let below = usize::try_from(below).unwrap_or(usize::MAX);
    let mut composite = vec![false; below];
    let mut prefix = vec![0u64; below + 1];
    for n in 0..below {
        let prime = n >= 2 && !composite[n];
        if prime {
            let mut multiple = n.saturating_mul(n);
            while multiple < below {
                composite[multiple] = true;
                multiple += n;
            }
        }
        prefix[n + 1] = prefix[n] + if prime { n as u64 } else { 0 };
    }
    ranges
        .iter()
        .map(|&(from, to)| prefix[to as usize] - prefix[from as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_division_and_sieve_agree() {
        let ranges = [(0, 10), (10, 100), (100, 1000), (1000, 1001)];
        let sieve = sum_primes_by_sieve(1001, &ranges);
        let trial: Vec<u64> = ranges
            .iter()
            .map(|&(from, to)| sum_primes_by_trial_division(from, to))
            .collect();
        assert_eq!(sieve, trial);
        assert_eq!(sieve[0], 2 + 3 + 5 + 7);
    }
}
