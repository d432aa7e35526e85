//! A peer whose connection stays open but carries nothing, not even
//! heartbeats, is declared down: a relay on 127.0.0.1 between two nodes is
//! frozen (it keeps both sockets open and forwards nothing), and each node
//! fires `NodeDown` for the other.

mod support_cluster;

use std::net::SocketAddr;
use std::time::Duration;

use proscenium::net::Node;
use support_cluster::{cluster, node_down, node_up, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards TCP connections to `target` until frozen; frozen, it keeps the
/// connections open and drops nothing but forwards nothing either.
struct FreezingRelay {
    addr: SocketAddr,
    frozen: watch::Sender<bool>,
}

impl FreezingRelay {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen, _) = watch::channel(false);
        let frozen_rx = frozen.subscribe();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(target).await else {
                    continue;
                };
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(forward(in_read, out_write, frozen_rx.clone()));
                tokio::spawn(forward(out_read, in_write, frozen_rx.clone()));
            }
        });
        Self { addr, frozen }
    }

    fn freeze(&self) {
        self.frozen.send_replace(true);
    }
}

/// Copies `from` to `to` until the relay is frozen, then holds both open.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buffer = vec![0; 4096];
    loop {
        if *frozen.borrow() {
            // Keep both halves alive, so neither node sees the connection close.
            std::future::pending::<()>().await;
        }
        tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if !*frozen.borrow() && to.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            },
            _ = frozen.changed() => {}
        }
    }
}

async fn node(name: &str, listen: bool) -> Node {
    let mut builder = Node::builder(name)
        .secret(cluster::secret())
        .registry(cluster::registry())
        .heartbeat(Duration::from_millis(50));
    if listen {
        builder = builder.listen("127.0.0.1:0".parse().unwrap());
    }
    builder.start().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_declare_a_silent_peer_down() {
    let alpha = node("alpha", true).await;
    let beta = node("beta", false).await;
    let relay = FreezingRelay::start(alpha.local_addr().unwrap()).await;
    let mut alpha_events = alpha.events();
    let mut beta_events = beta.events();

    within("beta to connect", beta.connect(relay.addr))
        .await
        .unwrap();
    node_up(&mut alpha_events, "beta").await;
    node_up(&mut beta_events, "alpha").await;

    relay.freeze();
    node_down(&mut alpha_events, "beta").await;
    node_down(&mut beta_events, "alpha").await;

    beta.shutdown().await;
    alpha.shutdown().await;
}
