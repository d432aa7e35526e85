//! A TCP relay on 127.0.0.1 that can be frozen: it keeps both sockets of
//! every connection open but forwards nothing (the peer neither hears from
//! the other side nor has its bytes read), then thawed.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards connections made to [`addr`](Self::addr) to a target.
pub struct FreezingRelay {
    pub addr: SocketAddr,
    frozen: watch::Sender<bool>,
}

impl FreezingRelay {
    /// Starts relaying to `target`, not frozen.
    pub async fn start(target: SocketAddr) -> Self {
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

    /// Stops forwarding (and reading) in both directions.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Forwards again.
    pub fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

/// Copies `from` to `to`, pausing (without reading) while frozen.
async fn forward(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut frozen: watch::Receiver<bool>,
) {
    let mut buffer = vec![0; 16 * 1024];
    loop {
        if *frozen.borrow_and_update() {
            if frozen.changed().await.is_err() {
                // The relay is gone: keep the halves open until the test ends.
                std::future::pending::<()>().await;
            }
            continue;
        }
        tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            },
            _ = frozen.changed() => {}
        }
    }
}
