//! A TCP proxy in front of the database that a test can cut and restore, to see how a
//! backend behaves when its database goes away and comes back.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Default)]
struct Links {
    cut: bool,
    open: Vec<AbortHandle>,
}

/// Forwards `127.0.0.1:<port>` to a target; stops when dropped.
pub struct TcpProxy {
    addr: SocketAddr,
    links: Arc<Mutex<Links>>,
    accept: AbortHandle,
}

impl TcpProxy {
    /// Starts forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let links = Arc::new(Mutex::new(Links::default()));
        let shared = Arc::clone(&links);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if shared.lock().unwrap().cut {
                    drop(inbound);
                    continue;
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut links = shared.lock().unwrap();
                links.open.retain(|handle| !handle.is_finished());
                links.open.push(link.abort_handle());
            }
        })
        .abort_handle();
        Self {
            addr,
            links,
            accept,
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// Closes every open connection and refuses new ones.
    pub fn cut(&self) {
        let mut links = self.links.lock().unwrap();
        links.cut = true;
        for link in links.open.drain(..) {
            link.abort();
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.links.lock().unwrap().cut = false;
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
