//! The outbox: a bounded queue of letters and the worker that sends them, retrying a
//! failed send after growing delays.
//!
//! A letter holds a sending slot only while it is being sent, never while it waits to be
//! retried, so addresses that keep failing cannot hold up everyone else's mail. A refusal
//! for good (a 5xx answer, such as "no such user") is not retried, and a letter whose link
//! has expired meanwhile is not sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Letter, MailTransport};

/// Letters waiting to be sent; beyond this, new ones are dropped (and logged).
const QUEUE_CAPACITY: usize = 1024;
/// Letters being sent at once.
const CONCURRENT_SENDS: usize = 8;

/// Where handlers put letters (cheap to clone). Putting never waits.
#[derive(Clone)]
pub struct Outbox {
    queue: mpsc::Sender<(Letter, Instant)>,
    /// Letters posted and not yet sent or given up: queued, sending or waiting to retry.
    unfinished: Arc<AtomicUsize>,
}

impl Outbox {
    /// An outbox whose worker sends through `transport` from `from`, retrying a failed
    /// send after each of `retry_delays`. Returns the worker, to stop at shutdown.
    pub fn start(
        transport: MailTransport,
        from: Mailbox,
        retry_delays: Vec<Duration>,
    ) -> (Self, JoinHandle<()>) {
        let (queue, letters) = mpsc::channel(QUEUE_CAPACITY);
        let unfinished = Arc::new(AtomicUsize::new(0));
        let sender = Sender {
            transport,
            from,
            retry_delays: retry_delays.into(),
            slots: Arc::new(Semaphore::new(CONCURRENT_SENDS)),
            unfinished: Arc::clone(&unfinished),
        };
        let worker = tokio::spawn(deliver(letters, sender));
        (Self { queue, unfinished }, worker)
    }

    /// Queues a letter. A full queue drops it with an error in the log: the request that
    /// asked for it has been answered either way.
    pub fn post(&self, letter: Letter) {
        let (kind, user_id) = (letter.email.kind(), letter.user_id.clone());
        let deadline = Instant::now() + letter.valid_for;
        self.unfinished.fetch_add(1, Ordering::SeqCst);
        if let Err(error) = self.queue.try_send((letter, deadline)) {
            self.unfinished.fetch_sub(1, Ordering::SeqCst);
            let why = match error {
                mpsc::error::TrySendError::Full(_) => "the outbox is full",
                mpsc::error::TrySendError::Closed(_) => "the outbox is closed",
            };
            tracing::error!(kind, %user_id, "email dropped: {why}");
        }
    }

    /// Waits until every posted letter is sent or given up, or `limit` passes; returns
    /// how many are left (at shutdown, those are lost).
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let left = self.unfinished.load(Ordering::SeqCst);
            if left == 0 || Instant::now() >= deadline {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What sending needs, shared by every letter's task.
#[derive(Clone)]
struct Sender {
    transport: MailTransport,
    from: Mailbox,
    retry_delays: Arc<[Duration]>,
    slots: Arc<Semaphore>,
    unfinished: Arc<AtomicUsize>,
}

/// Gives each letter a task of its own, which sends it with its retries.
async fn deliver(mut letters: mpsc::Receiver<(Letter, Instant)>, sender: Sender) {
    while let Some((letter, deadline)) = letters.recv().await {
        let sender = sender.clone();
        tokio::spawn(async move {
            sender.send_with_retries(&letter, deadline).await;
            sender.unfinished.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

impl Sender {
    async fn send_with_retries(&self, letter: &Letter, deadline: Instant) {
        let kind = letter.email.kind();
        let user_id = letter.user_id.as_str();
        let to: Mailbox = match letter.to.parse() {
            Ok(to) => to,
            Err(error) => {
                tracing::error!(kind, user_id, %error, "email not sent: the address is not usable");
                return;
            }
        };
        let message = match letter.email.message(&self.from, to) {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(kind, user_id, %error, "email not sent: it could not be built");
                return;
            }
        };
        let mut delays = self.retry_delays.iter();
        loop {
            if Instant::now() >= deadline {
                tracing::error!(kind, user_id, "email not sent: its link has expired");
                return;
            }
            let sent = {
                let Ok(_slot) = self.slots.acquire().await else {
                    return;
                };
                self.transport.send(message.clone()).await
            };
            let error = match sent {
                Ok(()) => {
                    tracing::info!(kind, user_id, "email sent");
                    return;
                }
                Err(error) => error,
            };
            let cause = format!("{:#}", error.source);
            match delays.next() {
                Some(delay) if !error.permanent => {
                    tracing::warn!(kind, user_id, error = %cause, retry_in = ?delay, "email not sent; will retry");
                    tokio::time::sleep(*delay).await;
                }
                _ => {
                    tracing::error!(kind, user_id, error = %cause, permanent = error.permanent, "email not sent; giving up");
                    return;
                }
            }
        }
    }
}
