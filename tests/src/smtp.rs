//! A real SMTP server on a free local port that keeps every message it receives, so a test
//! can run the backend with `MAIL_URL=smtp://127.0.0.1:PORT?tls=none` and read the mail
//! it sent: the subject, the decoded text and HTML, and the links in them.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mail_parser::{MessageParser, PartType};
use mailin_embedded::{Handler, Response, Server, response};

/// How many SMTP sessions are served at once; a session beyond that waits for a free
/// one. Above the 10 connections that a `lettre` pool keeps by default, so one backend's
/// pool never starves itself.
const SESSIONS: u32 = 16;

/// A local SMTP server on a free port that keeps every message it receives.
///
/// It accepts any sender and any recipient (but those it is told to refuse), without
/// authentication or STARTTLS. Dropping
/// it stops taking mail: the listening thread cannot be stopped, so it stays bound for
/// the rest of the test process and answers every new session with `421`.
pub struct SmtpServer {
    addr: SocketAddr,
    mailbox: Arc<Mailbox>,
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in the order given.
    pub to: Vec<String>,
    /// The raw RFC 5322 message (headers and body, as received, CRLF lines).
    pub raw: String,
}

#[derive(Default)]
struct Mailbox {
    received: Mutex<Vec<ReceivedMail>>,
    closed: AtomicBool,
    /// Recipients containing any of these are refused for good (550).
    refused: Mutex<Vec<String>>,
    /// Recipients containing any of these are refused for now (451).
    deferred: Mutex<Vec<String>>,
}

impl Mailbox {
    fn received(&self) -> MutexGuard<'_, Vec<ReceivedMail>> {
        // A poisoned lock only means another test thread panicked; the list is still whole.
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SmtpServer {
    /// Starts listening on 127.0.0.1:0 (a free port) in background threads.
    pub fn start() -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// From now on, refuses for good (550 "mailbox unavailable") every recipient whose
    /// address contains `pattern`, as a server refuses an address that does not exist.
    pub fn refuse_recipients_containing(&self, pattern: &str) {
        self.mailbox
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pattern.to_owned());
    }

    /// From now on, refuses for now (451, "try again later") every recipient whose
    /// address contains `pattern`, as a busy or greylisting server does.
    pub fn defer_recipients_containing(&self, pattern: &str) {
        self.mailbox
            .deferred
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pattern.to_owned());
    }

    /// Starts on a given address (for a test that starts the server only after the
    /// backend already tried to send, to check retries).
    pub fn start_on(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr)
            .unwrap_or_else(|err| panic!("bind the SMTP server to {addr}: {err}"));
        let addr = listener.local_addr().expect("SMTP server address");
        let mailbox = Arc::new(Mailbox::default());
        let mut server = Server::new(Session::new(Arc::clone(&mailbox)));
        server
            .with_name("localhost")
            .with_num_threads(SESSIONS)
            .with_tcp_listener(listener);
        std::thread::Builder::new()
            .name(format!("smtp-{}", addr.port()))
            .spawn(move || {
                if let Err(err) = server.serve() {
                    eprintln!("SMTP server on {addr} stopped: {err}");
                }
            })
            .expect("spawn the SMTP server thread");
        Self { addr, mailbox }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:PORT?tls=none`, what to pass as MAIL_URL.
    pub fn mail_url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.mailbox.received().clone()
    }

    /// Waits (polling, up to `limit`) until a message to `to` has arrived and returns the
    /// newest one; panics, listing what did arrive, when none does.
    pub async fn wait_for(&self, to: &str, limit: Duration) -> ReceivedMail {
        crate::eventually(limit, || {
            let arrived = self.count_to(to) > 0;
            async move { arrived }
        })
        .await;
        let received = self.received();
        if let Some(mail) = received.iter().rev().find(|mail| mail.is_to(to)) {
            return mail.clone();
        }
        let arrived: Vec<String> = received
            .iter()
            .map(|mail| format!("to {:?}: {:?}", mail.to, mail.subject()))
            .collect();
        panic!(
            "no mail to {to} within {limit:?}; {} arrived{}{}",
            arrived.len(),
            if arrived.is_empty() { "" } else { ":\n  " },
            arrived.join("\n  ")
        );
    }

    /// How many messages were received for `to`.
    pub fn count_to(&self, to: &str) -> usize {
        self.mailbox
            .received()
            .iter()
            .filter(|mail| mail.is_to(to))
            .count()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.mailbox.closed.store(true, Ordering::Relaxed);
    }
}

impl ReceivedMail {
    /// The Subject header, decoded if RFC 2047 encoded (empty if none).
    pub fn subject(&self) -> String {
        MessageParser::default()
            .parse(&self.raw)
            .and_then(|message| message.subject().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The text/plain body, decoded from quoted-printable or base64 (in a
    /// multipart/alternative message, its text/plain part; empty if none).
    pub fn text(&self) -> String {
        let Some(message) = MessageParser::default().parse(&self.raw) else {
            return String::new();
        };
        message
            .text_bodies()
            .find_map(|part| match &part.body {
                PartType::Text(text) => Some(text.to_string()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The text/html body, decoded likewise (empty if none).
    pub fn html(&self) -> String {
        let Some(message) = MessageParser::default().parse(&self.raw) else {
            return String::new();
        };
        message
            .html_bodies()
            .find_map(|part| match &part.body {
                PartType::Html(html) => Some(html.to_string()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The first link in the plain text that contains `path` (e.g.
    /// `"/reset-password#token="`), whole up to whitespace; panics with the text if
    /// there is none.
    pub fn link(&self, path: &str) -> String {
        let text = self.text();
        text.split_whitespace()
            .find(|word| word.contains(path))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no link with {path:?} in the text:\n{text}"))
    }

    fn is_to(&self, to: &str) -> bool {
        self.to.iter().any(|recipient| recipient == to)
    }
}

/// One SMTP session's side of the conversation: every session gets a clone, which
/// collects the message in progress and files it in the shared mailbox at the final dot.
#[derive(Clone)]
struct Session {
    mailbox: Arc<Mailbox>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Session {
    fn new(mailbox: Arc<Mailbox>) -> Self {
        Self {
            mailbox,
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        }
    }

    fn closed(&self) -> bool {
        self.mailbox.closed.load(Ordering::Relaxed)
    }
}

impl Handler for Session {
    fn rcpt(&mut self, to: &str) -> Response {
        let matches = |list: &Mutex<Vec<String>>| {
            list.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|pattern| to.contains(pattern.as_str()))
        };
        if matches(&self.mailbox.refused) {
            response::NO_MAILBOX
        } else if matches(&self.mailbox.deferred) {
            response::INTERNAL_ERROR
        } else {
            response::OK
        }
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        if self.closed() {
            return response::NO_SERVICE;
        }
        response::OK
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        from.clone_into(&mut self.from);
        to.clone_into(&mut self.to);
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if self.closed() {
            return response::NO_SERVICE;
        }
        let mail = ReceivedMail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            raw: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        };
        self.mailbox.received().push(mail);
        response::OK
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    use super::*;

    /// A 43-character token, the length of 32 random bytes in unpadded base64url.
    const TOKEN: &str = "AbC-_123dEf456gHi789JkL012mNo345PqR678sTu90";

    fn link() -> String {
        format!("http://localhost:3000/reset-password#token={TOKEN}")
    }

    /// A reset-password message as `lettre` writes one: multipart/alternative, both
    /// parts quoted-printable with soft line breaks inside the link, an RFC 2047
    /// subject, and a line that starts with a dot.
    fn reset_message() -> String {
        let plain = format!(
            "Bonjour Zo=C3=AB,\r\n\
             \r\n\
             Reset your password with this link: http://localhost:3000/reset-passwo=\r\n\
             rd#token=3D{}=\r\n\
             {}\r\n\
             \r\n\
             .The link works once, for 30 minutes.\r\n",
            &TOKEN[..20],
            &TOKEN[20..],
        );
        let html = format!(
            "<p>Bonjour Zo=C3=AB,</p>\r\n\
             <p><a href=3D\"http://localhost:3000/reset-password#token=3D{}=\r\n\
             {}\">Reset your password</a></p>\r\n",
            &TOKEN[..10],
            &TOKEN[10..],
        );
        format!(
            "From: Accounts <noreply@example.com>\r\n\
             To: zoe@example.com\r\n\
             Subject: =?utf-8?q?R=C3=A9initialise_your_password?=\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"BOUNDARY\"\r\n\
             \r\n\
             --BOUNDARY\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\
             \r\n\
             {plain}\
             --BOUNDARY\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\
             \r\n\
             {html}\
             --BOUNDARY--\r\n"
        )
    }

    /// A minimal SMTP client: one command, one reply code.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl Client {
        fn connect(addr: SocketAddr) -> Self {
            let stream = TcpStream::connect(addr).expect("connect to the SMTP server");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("read timeout");
            let writer = stream.try_clone().expect("clone the stream");
            let mut client = Self {
                reader: BufReader::new(stream),
                writer,
            };
            assert_eq!(client.reply(), 220, "greeting");
            client
        }

        /// The code of the server's next reply, past the lines of a multi-line one.
        fn reply(&mut self) -> u16 {
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).expect("read a reply");
                assert!(line.len() >= 4, "a reply line, got {line:?}");
                if line.as_bytes()[3] != b'-' {
                    return line[..3].parse().expect("a reply code");
                }
            }
        }

        fn command(&mut self, line: &str) -> u16 {
            self.writer
                .write_all(format!("{line}\r\n").as_bytes())
                .expect("send a command");
            self.reply()
        }

        /// Sends one message in a fresh transaction; the code of the reply to its end.
        fn send(&mut self, from: &str, to: &[&str], message: &str) -> u16 {
            assert_eq!(self.command(&format!("MAIL FROM:<{from}>")), 250);
            for recipient in to {
                assert_eq!(self.command(&format!("RCPT TO:<{recipient}>")), 250);
            }
            assert_eq!(self.command("DATA"), 354);
            let mut data = String::new();
            for line in message.split_inclusive("\r\n") {
                if line.starts_with('.') {
                    data.push('.');
                }
                data.push_str(line);
            }
            self.command(&format!("{data}."))
        }
    }

    fn send(server: &SmtpServer, to: &str, subject: &str) {
        let mut client = Client::connect(server.addr());
        assert_eq!(client.command("HELO client.test"), 250);
        let message = format!("Subject: {subject}\r\n\r\nHello.\r\n");
        assert_eq!(client.send("noreply@example.com", &[to], &message), 250);
        assert_eq!(client.command("QUIT"), 221);
    }

    #[test]
    fn a_multipart_quoted_printable_message_is_received_and_decoded() {
        assert_eq!(TOKEN.len(), 43);
        let server = SmtpServer::start();
        let mut client = Client::connect(server.addr());
        assert_eq!(client.command("EHLO client.test"), 250);
        let code = client.send(
            "noreply@example.com",
            &["zoe@example.com", "copy@example.com"],
            &reset_message(),
        );
        assert_eq!(code, 250);

        let received = server.received();
        assert_eq!(received.len(), 1);
        let mail = &received[0];
        assert_eq!(mail.from, "noreply@example.com");
        assert_eq!(mail.to, ["zoe@example.com", "copy@example.com"]);
        assert_eq!(mail.raw, reset_message());
        assert_eq!(mail.subject(), "Réinitialise your password");
        let text = mail.text();
        assert!(text.starts_with("Bonjour Zoë,"), "{text}");
        assert!(
            text.contains(&format!("this link: {}\r\n", link())),
            "{text}"
        );
        assert!(text.contains("\r\n.The link works once"), "{text}");
        assert!(
            mail.html()
                .contains(&format!("<a href=\"{}\">Reset your password</a>", link())),
            "{}",
            mail.html()
        );
        assert_eq!(mail.link("/reset-password#token="), link());
    }

    #[test]
    fn a_single_part_base64_message_has_text_and_no_html() {
        let server = SmtpServer::start();
        let mut client = Client::connect(server.addr());
        assert_eq!(client.command("HELO client.test"), 250);
        // "Verify: http://localhost:3000/verify-email#token=abc\r\n"
        let message = "Subject: Verify your email\r\n\
                       Content-Type: text/plain; charset=utf-8\r\n\
                       Content-Transfer-Encoding: base64\r\n\
                       \r\n\
                       VmVyaWZ5OiBodHRwOi8vbG9jYWxob3N0OjMwMDAvdmVyaWZ5LWVtYWlsI3Rva2VuPWFiYw0K\r\n";
        assert_eq!(
            client.send("noreply@example.com", &["a@example.com"], message),
            250
        );

        let mail = &server.received()[0];
        assert_eq!(mail.subject(), "Verify your email");
        assert_eq!(
            mail.text(),
            "Verify: http://localhost:3000/verify-email#token=abc\r\n"
        );
        assert_eq!(mail.html(), "");
        assert_eq!(
            mail.link("/verify-email#token="),
            "http://localhost:3000/verify-email#token=abc"
        );
    }

    #[test]
    #[should_panic(expected = "no link with \"/reset-password#token=\" in the text:\nHello.")]
    fn link_names_the_text_when_the_link_is_missing() {
        let server = SmtpServer::start();
        send(&server, "a@example.com", "No link");
        server.received()[0].link("/reset-password#token=");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wait_for_returns_the_newest_message_to_the_recipient() {
        let server = Arc::new(SmtpServer::start());
        let sender = Arc::clone(&server);
        let sending = tokio::task::spawn_blocking(move || {
            send(&sender, "a@example.com", "First");
            send(&sender, "b@example.com", "Other");
            send(&sender, "a@example.com", "Second");
        });
        sending.await.expect("the client finished");

        let mail = server
            .wait_for("a@example.com", Duration::from_secs(5))
            .await;
        assert_eq!(mail.subject(), "Second");
        assert_eq!(server.count_to("a@example.com"), 2);
        assert_eq!(server.count_to("b@example.com"), 1);
        assert_eq!(server.count_to("c@example.com"), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wait_for_sees_a_message_that_arrives_while_it_waits() {
        let server = Arc::new(SmtpServer::start());
        let sender = Arc::clone(&server);
        let waiting = tokio::spawn(async move {
            server
                .wait_for("late@example.com", Duration::from_secs(10))
                .await
        });
        tokio::task::spawn_blocking(move || send(&sender, "late@example.com", "Late"))
            .await
            .expect("the client finished");
        let mail = waiting.await.expect("wait_for found the message");
        assert_eq!(mail.subject(), "Late");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[should_panic(
        expected = "no mail to nobody@example.com within 100ms; 1 arrived:\n  to [\"a@example.com\"]: \"Hi\""
    )]
    async fn wait_for_lists_what_arrived_when_nothing_comes_for_the_recipient() {
        let server = SmtpServer::start();
        send(&server, "a@example.com", "Hi");
        server
            .wait_for("nobody@example.com", Duration::from_millis(100))
            .await;
    }

    #[test]
    fn sessions_are_served_at_the_same_time() {
        let server = SmtpServer::start();
        // Every client holds its session open while the next one talks, which a server
        // that serves one session at a time would never answer.
        let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(server.addr())).collect();
        for (n, client) in clients.iter_mut().enumerate() {
            assert_eq!(client.command(&format!("HELO client{n}.test")), 250);
            assert_eq!(client.command("MAIL FROM:<noreply@example.com>"), 250);
        }
        for (n, client) in clients.iter_mut().enumerate().rev() {
            assert_eq!(
                client.command(&format!("RCPT TO:<user{n}@example.com>")),
                250
            );
            assert_eq!(client.command("DATA"), 354);
            assert_eq!(
                client.command(&format!("Subject: {n}\r\n\r\nHi.\r\n.")),
                250
            );
        }
        let mut subjects: Vec<String> = server
            .received()
            .iter()
            .map(ReceivedMail::subject)
            .collect();
        subjects.sort();
        assert_eq!(subjects, ["0", "1", "2"]);
    }

    #[test]
    fn odd_input_gets_an_error_reply_and_the_server_keeps_serving() {
        let server = SmtpServer::start();
        let mut client = Client::connect(server.addr());
        assert!(client.command("HELLO?") >= 500);
        assert!(client.command(&"X".repeat(100_000)) >= 500);
        assert!(client.command("\u{0}\u{7f}\u{ff}") >= 500);
        assert_eq!(client.command("HELO client.test"), 250);
        assert!(client.command("DATA") >= 500, "DATA before MAIL FROM");
        assert!(
            client.command("RCPT TO:<a@example.com>") >= 500,
            "RCPT before MAIL"
        );
        assert!(client.command("MAIL FROM:not an address") >= 500);
        drop(client);

        let mut cut_off = Client::connect(server.addr());
        assert_eq!(cut_off.command("HELO client.test"), 250);
        assert_eq!(cut_off.command("MAIL FROM:<a@example.com>"), 250);
        assert_eq!(cut_off.command("RCPT TO:<b@example.com>"), 250);
        assert_eq!(cut_off.command("DATA"), 354);
        cut_off
            .writer
            .write_all(b"Subject: never finished\r\n")
            .expect("send half a message");
        drop(cut_off);

        send(&server, "a@example.com", "After");
        let received = server.received();
        assert_eq!(received.len(), 1, "only the finished message is kept");
        assert_eq!(received[0].subject(), "After");
    }

    #[test]
    fn start_on_listens_on_the_given_address() {
        let free = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let addr = free.local_addr().expect("free address");
        drop(free);

        let server = SmtpServer::start_on(addr);
        assert_eq!(server.addr(), addr);
        assert_eq!(server.mail_url(), format!("smtp://{addr}?tls=none"));
        send(&server, "a@example.com", "Hi");
        assert_eq!(server.count_to("a@example.com"), 1);
    }

    #[test]
    fn a_dropped_server_refuses_new_sessions() {
        let server = SmtpServer::start();
        let addr = server.addr();
        drop(server);

        let mut client = Client::connect(addr);
        assert_eq!(client.command("HELO client.test"), 421);
    }
}
