//! Waiting for AWS to finish something (a certificate issued, a distribution deployed): polls
//! with growing pauses, bounded by the operation's timeout and stopped by Terraform's stop signal.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::AwsError;

/// The pause after the first poll; it doubles up to [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The longest pause between two polls.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// What is waited for, for how long, and what to tell the user when it takes too long.
#[derive(Debug, Clone)]
pub struct Wait<'a> {
    /// Names the thing waited for in messages, e.g. `certificate arn:... to be issued`.
    pub what: String,
    /// How long it may take.
    pub timeout: Duration,
    /// What the user can do when it takes longer.
    pub hint: &'a str,
    /// Terraform's stop signal.
    pub cancel: &'a CancellationToken,
}

impl Wait<'_> {
    /// Runs `attempt` until it returns `Some`, pausing between attempts; an error from
    /// `attempt` ends the wait at once.
    pub async fn until<T, F, Fut>(&self, mut attempt: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, AwsError>>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut interval = FIRST_POLL_INTERVAL;
        loop {
            let outcome = tokio::select! {
                _ = self.cancel.cancelled() => return Err(self.cancelled()),
                result = tokio::time::timeout_at(deadline, attempt()) => match result {
                    Err(_) => return Err(self.timed_out()),
                    Ok(result) => result?,
                },
            };
            if let Some(done) = outcome {
                return Ok(done);
            }
            if Instant::now() + interval > deadline {
                return Err(self.timed_out());
            }
            self.pause(interval).await?;
            interval = (interval * 2).min(MAX_POLL_INTERVAL);
        }
    }

    /// Sleeps for `duration` unless Terraform asks the provider to stop first.
    pub async fn pause(&self, duration: Duration) -> Result<(), AwsError> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(self.cancelled()),
            _ = tokio::time::sleep(duration) => Ok(()),
        }
    }

    fn cancelled(&self) -> AwsError {
        AwsError::Cancelled(format!("waiting for {}", self.what))
    }

    fn timed_out(&self) -> AwsError {
        AwsError::TimedOut {
            what: self.what.clone(),
            waited: self.timeout,
            hint: self.hint.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn polls_until_done_and_gives_up_at_the_deadline() {
        let cancel = CancellationToken::new();
        let wait = Wait {
            what: "the test".into(),
            timeout: Duration::from_secs(5),
            hint: "raise the timeout",
            cancel: &cancel,
        };
        let mut calls = 0;
        let value = wait
            .until(|| {
                calls += 1;
                let done = calls == 2;
                async move { Ok(done.then_some(42)) }
            })
            .await
            .unwrap();
        assert_eq!((value, calls), (42, 2));

        let short = Wait {
            timeout: Duration::from_millis(300),
            ..wait.clone()
        };
        let error = short
            .until(|| async { Ok::<Option<()>, AwsError>(None) })
            .await
            .unwrap_err();
        assert!(error.to_string().contains("raise the timeout"), "{error}");

        cancel.cancel();
        let error = wait
            .until(|| async { Ok::<Option<()>, AwsError>(None) })
            .await
            .unwrap_err();
        assert!(matches!(error, AwsError::Cancelled(_)), "{error}");
    }
}
