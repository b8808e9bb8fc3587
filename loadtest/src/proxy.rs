//! A TCP proxy between a server and its database, with a switch: [`Proxy::cut`] closes
//! every connection through it and stops listening, so that new ones are refused as by a
//! database server that has stopped; [`Proxy::restore`] listens again on the same port.
//! It runs on a thread of its own, so that the load generator's work never holds up the
//! database's bytes.

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use anyhow::Context as _;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// Connections waiting to be accepted.
const BACKLOG: u32 = 1024;

/// What the proxy's thread is asked to do, and where it says it is done.
enum Command {
    Cut(oneshot::Sender<io::Result<()>>),
    Restore(oneshot::Sender<io::Result<()>>),
}

/// Forwards `127.0.0.1:<port>` to a target; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    commands: Option<mpsc::UnboundedSender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts forwarding to `target` on a free port of 127.0.0.1.
    pub fn start(target: SocketAddr) -> anyhow::Result<Self> {
        let (commands, received) = mpsc::unbounded_channel();
        let (bound, listening) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("database-proxy".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = bound.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match listen(SocketAddr::from(([127, 0, 0, 1], 0))) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = bound.send(Err(error));
                            return;
                        }
                    };
                    match listener.local_addr() {
                        Ok(addr) => {
                            let _ = bound.send(Ok(addr));
                            serve(listener, addr, target, received).await;
                        }
                        Err(error) => {
                            let _ = bound.send(Err(error));
                        }
                    }
                });
            })
            .context("cannot start the proxy's thread")?;
        let addr = listening
            .recv()
            .context("the proxy's thread ended before listening")?
            .context("the proxy cannot listen")?;
        Ok(Self {
            addr,
            commands: Some(commands),
            thread: Some(thread),
        })
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection through it and stops listening (new connections are
    /// refused); returns once both are done.
    pub async fn cut(&self) -> anyhow::Result<()> {
        self.ask(Command::Cut).await.context("cannot cut the proxy")
    }

    /// Listens again on the same port; returns once it does.
    pub async fn restore(&self) -> anyhow::Result<()> {
        self.ask(Command::Restore)
            .await
            .with_context(|| format!("cannot listen again on {}", self.addr))
    }

    async fn ask(
        &self,
        command: impl FnOnce(oneshot::Sender<io::Result<()>>) -> Command,
    ) -> io::Result<()> {
        let (done, answer) = oneshot::channel();
        let gone = || io::Error::other("the proxy's thread has ended");
        self.commands
            .as_ref()
            .ok_or_else(gone)?
            .send(command(done))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Closing the channel ends the thread, and its connections with it.
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A listener on `addr` that may take the port again at once after a cut (the
/// connections the cut closed linger in TIME_WAIT on it).
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// The proxy's loop: accepts and forwards while it listens, and obeys the switch.
async fn serve(
    listener: TcpListener,
    addr: SocketAddr,
    target: SocketAddr,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut listener = Some(listener);
    let mut links = JoinSet::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => break,
                Some(Command::Cut(done)) => {
                    // Dropping the listener refuses what is queued and what comes next.
                    listener = None;
                    links.abort_all();
                    while links.join_next().await.is_some() {}
                    let _ = done.send(Ok(()));
                }
                Some(Command::Restore(done)) => {
                    let result = match listener {
                        Some(_) => Ok(()),
                        None => listen(addr).map(|again| listener = Some(again)),
                    };
                    let _ = done.send(result);
                }
            },
            accepted = accept(listener.as_ref()) => {
                if let Ok((inbound, _)) = accepted {
                    links.spawn(forward(inbound, target));
                }
            }
            Some(_) = links.join_next(), if !links.is_empty() => {}
        }
    }
    links.abort_all();
    while links.join_next().await.is_some() {}
}

/// The next connection, or never while the proxy does not listen.
async fn accept(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Copies bytes both ways until either side closes (or the task is aborted, which closes
/// both).
async fn forward(mut inbound: TcpStream, target: SocketAddr) {
    if let Ok(mut outbound) = TcpStream::connect(target).await {
        let _ = inbound.set_nodelay(true);
        let _ = outbound.set_nodelay(true);
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// An echo server: each connection gets back what it sends.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream) -> io::Result<[u8; 4]> {
        stream.write_all(b"ping").await?;
        let mut answer = [0u8; 4];
        stream.read_exact(&mut answer).await?;
        Ok(answer)
    }

    #[tokio::test]
    async fn a_cut_closes_connections_and_refuses_new_ones_until_restored() {
        let proxy = Proxy::start(echo().await).unwrap();
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(&round_trip(&mut open).await.unwrap(), b"ping");

        proxy.cut().await.unwrap();
        assert!(
            round_trip(&mut open).await.is_err(),
            "the open connection is closed"
        );
        let refused = TcpStream::connect(proxy.addr()).await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);

        proxy.restore().await.unwrap();
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(&round_trip(&mut again).await.unwrap(), b"ping");
    }
}
