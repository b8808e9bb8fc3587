//! Email: the messages we send, and the outbox that delivers them after the response.
//!
//! Where mail goes is `MAIL_URL`: an SMTP server (`smtp://` with STARTTLS required,
//! `smtps://` with TLS from the first byte, both through `lettre` and rustls) or, for
//! development and tests, `file://DIR`, where each message becomes an `.eml` file.
//! Handlers never wait for delivery: they put a [`Letter`] in the [`Outbox`], whose worker
//! sends it and retries a failed send a few times. Logs say that a message was sent or
//! failed, and to which user; never the link it carries.

mod messages;
mod outbox;
mod transport;

pub use messages::{Email, Letter};
pub use outbox::Outbox;
pub use transport::{MailTransport, MailUrl, SendError};
