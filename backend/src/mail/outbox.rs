//! The outbox: a bounded queue of letters and the worker that sends them, retrying a
//! failed send after growing delays.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::{Letter, MailTransport};

/// Letters waiting to be sent; beyond this, new ones are dropped (and logged).
const QUEUE_CAPACITY: usize = 1024;
/// Letters being sent (or waiting to retry) at once.
const CONCURRENT_SENDS: usize = 8;

/// Where handlers put letters (cheap to clone). Putting never waits.
#[derive(Clone)]
pub struct Outbox {
    queue: mpsc::Sender<Letter>,
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
        let worker = tokio::spawn(deliver(letters, transport, from, retry_delays));
        (Self { queue }, worker)
    }

    /// Queues a letter. A full or closed queue drops it with an error in the log: the
    /// request that asked for it has been answered either way.
    pub fn post(&self, letter: Letter) {
        let (kind, user_id) = (letter.email.kind(), letter.user_id.clone());
        if self.queue.try_send(letter).is_err() {
            tracing::error!(kind, %user_id, "email dropped: the outbox is full");
        }
    }
}

/// Sends each letter, several at once, each with its retries.
async fn deliver(
    mut letters: mpsc::Receiver<Letter>,
    transport: MailTransport,
    from: Mailbox,
    retry_delays: Vec<Duration>,
) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_SENDS));
    let retry_delays: Arc<[Duration]> = retry_delays.into();
    while let Some(letter) = letters.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (transport, from, delays) =
            (transport.clone(), from.clone(), Arc::clone(&retry_delays));
        tokio::spawn(async move {
            send_with_retries(&transport, &from, &letter, &delays).await;
            drop(slot);
        });
    }
}

async fn send_with_retries(
    transport: &MailTransport,
    from: &Mailbox,
    letter: &Letter,
    retry_delays: &[Duration],
) {
    let kind = letter.email.kind();
    let user_id = letter.user_id.as_str();
    let to: Mailbox = match letter.to.parse() {
        Ok(to) => to,
        Err(error) => {
            tracing::error!(kind, user_id, %error, "email not sent: the address is not usable");
            return;
        }
    };
    let message = match letter.email.message(from, to) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(kind, user_id, %error, "email not sent: it could not be built");
            return;
        }
    };
    let mut delays = retry_delays.iter();
    loop {
        match transport.send(message.clone()).await {
            Ok(()) => {
                tracing::info!(kind, user_id, "email sent");
                return;
            }
            Err(error) => match delays.next() {
                Some(delay) => {
                    tracing::warn!(kind, user_id, error = %format!("{error:#}"), retry_in = ?delay, "email not sent; will retry");
                    tokio::time::sleep(*delay).await;
                }
                None => {
                    tracing::error!(kind, user_id, error = %format!("{error:#}"), "email not sent; giving up");
                    return;
                }
            },
        }
    }
}
