//! A live view of the cluster in the browser (feature `dashboard`): one
//! page, served by a node, that shows every node of the cluster, the links
//! between them, each node's supervision tree with mailbox depths and
//! messages per second, restarts and dead letters as they happen, and a
//! chart of messages per second over the last minute.
//!
//! The page is plain HTML, CSS and JavaScript compiled into the binary: no
//! build step, nothing loaded from elsewhere. It reads
//! [`Node::cluster_snapshot`] and nothing else: no route changes anything.
//!
//! # Routes
//!
//! Relative to where the [`router`](Dashboard::router) is mounted:
//!
//! * `/`: the page (`app.js` and `style.css` next to it);
//! * `api/cluster`: the [`ClusterSnapshot`](crate::ClusterSnapshot) as JSON;
//! * `api/events`: server-sent events: `hello` (the last minute of rates
//!   and the recent log), then `snapshot` every interval (the cluster as
//!   the page draws it: nodes, links, a tree per node with rates computed
//!   from `messages_handled`), and `restart`, `dead_letter` and `node`
//!   (stopped or started answering) as they are seen.
//!
//! # Who can see it
//!
//! The page lists every actor of the cluster, its type and names, and the
//! cluster's addresses: what an attacker would map first. So
//! [`serve`](Dashboard::serve) binds a loopback address only, unless
//! [`allow_remote`](Dashboard::allow_remote) says otherwise; reach a
//! remote node's dashboard through an SSH tunnel, or put it behind a
//! proxy that authenticates. A [`token`](Dashboard::token) adds a bearer
//! check to the page and its API (not to `app.js` and `style.css`, which
//! hold no data): `Authorization: Bearer TOKEN`, or `?token=TOKEN` in the
//! page's URL, which the page passes on to its API calls.
//!
//! # Examples
//!
//! ```no_run
//! use proscenium_net::dashboard::Dashboard;
//! use proscenium_net::Node;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::builder("alpha")
//!     .secret("a secret of at least thirty-two bytes!")
//!     .start()
//!     .await?;
//! let dashboard = Dashboard::new(node.clone()).serve(([127, 0, 0, 1], 8080)).await?;
//! println!("open {}", dashboard.url());
//! // ... until the application stops:
//! dashboard.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod feed;
mod http;
mod view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::feed::Feed;
use self::http::Served;
use crate::Node;

/// A live view of a node's cluster: build it, then [`serve`](Self::serve)
/// it or mount its [`router`](Self::router) in an axum application.
///
/// # Examples
///
/// Mounted under a prefix of an application's own router:
///
/// ```
/// use std::time::Duration;
///
/// use proscenium_net::dashboard::Dashboard;
/// use proscenium_net::Node;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("alpha")
///     .secret("a secret of at least thirty-two bytes!")
///     .start()
///     .await?;
/// let dashboard = Dashboard::new(node.clone())
///     .token("s3cret".to_owned())
///     .interval(Duration::from_millis(500));
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "my service" }))
///     .nest("/proscenium", dashboard.router());
/// // ... axum::serve(listener, app).with_graceful_shutdown(async move {
/// //     signal.await;
/// //     dashboard.close(); // ends the open event streams, so shutdown can finish
/// // })
/// # drop(app);
/// # node.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Dashboard {
    node: Node,
    token: Option<Arc<str>>,
    interval: Duration,
    deadline: Duration,
    allow_remote: bool,
    /// Cancelled by [`close`](Self::close): ends every event stream.
    closed: CancellationToken,
}

/// How often the page gets a new snapshot, unless configured.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// How long a snapshot waits for the other nodes, unless configured.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(1);

impl Dashboard {
    /// A dashboard of `node`'s cluster (or, outside a cluster, of the node
    /// and its connected peers), without a token, updating every second.
    pub fn new(node: Node) -> Self {
        Self {
            node,
            token: None,
            interval: DEFAULT_INTERVAL,
            deadline: DEFAULT_DEADLINE,
            allow_remote: false,
            closed: CancellationToken::new(),
        }
    }

    /// Requires `token` for the page and its API, as
    /// `Authorization: Bearer TOKEN` or `?token=TOKEN`. Use a long random
    /// one (`openssl rand -hex 16`): it is compared whole, but not limited
    /// in tries.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into().into());
        self
    }

    /// How often the page gets a new snapshot (default one second). Each
    /// asks every node of the cluster for its snapshot, so a few seconds
    /// suit a large cluster better.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a snapshot waits for the other nodes (default one second);
    /// a node that has not answered by then shows as not answering.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Lets [`serve`](Self::serve) bind an address other than a loopback
    /// one. The page shows every actor and address of the cluster: set a
    /// [`token`](Self::token) and serve it over a network you trust, or
    /// behind a proxy that adds TLS.
    pub fn allow_remote(mut self) -> Self {
        self.allow_remote = true;
        self
    }

    /// The dashboard's routes, to serve or to [`nest`](axum::Router::nest)
    /// under a prefix of an application's router: every URL the page uses
    /// is relative. Each call makes a router with its own sampler.
    pub fn router(&self) -> axum::Router {
        let feed = Feed::new(
            self.node.clone(),
            self.interval,
            self.deadline,
            self.closed.clone(),
        );
        http::router(Arc::new(Served {
            node: self.node.clone(),
            feed: Arc::new(feed),
            deadline: self.deadline,
            token: self.token.clone(),
            closed: self.closed.clone(),
        }))
    }

    /// Ends the open event streams of every router made from this
    /// dashboard (and its clones), and refuses new ones. An axum server's
    /// graceful shutdown waits for open connections, and an event stream
    /// stays open as long as its page does: call this when the shutdown
    /// starts. (The streams also end when the node shuts down.)
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Binds `addr` and serves the dashboard there, in a task of its own,
    /// until [`DashboardServer::shutdown`], the [`DashboardServer`] is
    /// dropped, or the node shuts down. Port 0 picks a free port; the
    /// server's [`url`](DashboardServer::url) says which.
    ///
    /// # Errors
    ///
    /// [`DashboardError::NotLoopback`] for an address that is not a
    /// loopback one without [`allow_remote`](Self::allow_remote) (see the
    /// [module docs](self) for why), and [`DashboardError::Bind`] if the
    /// address cannot be bound.
    pub async fn serve(
        self,
        addr: impl Into<SocketAddr>,
    ) -> Result<DashboardServer, DashboardError> {
        let addr = addr.into();
        if !self.allow_remote && !addr.ip().is_loopback() {
            return Err(DashboardError::NotLoopback(addr));
        }
        let bind_error = |source| DashboardError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let router = self.router();
        let closed = self.closed.clone();
        let node_down = self.node.shared().cancel.clone();
        let task = tokio::spawn(async move {
            let stop = async move {
                tokio::select! {
                    () = closed.cancelled() => {}
                    () = node_down.cancelled() => closed.cancel(),
                }
            };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!(%error, "the dashboard server stopped");
            }
        });
        tracing::info!(url = %format!("http://{local_addr}/"), "dashboard serving");
        Ok(DashboardServer {
            local_addr,
            closed: self.closed,
            task: Some(task),
        })
    }
}

/// A dashboard being served; see [`Dashboard::serve`]. Dropping it stops
/// the server.
#[derive(Debug)]
#[must_use = "dropping the DashboardServer stops the server"]
pub struct DashboardServer {
    local_addr: SocketAddr,
    closed: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl DashboardServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The page's URL: `http://ADDR/` (without the token).
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Stops the server: ends the event streams, lets the requests under
    /// way finish, and returns once it has stopped.
    pub async fn shutdown(mut self) {
        self.closed.cancel();
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::warn!(%error, "the dashboard server task failed");
            }
        }
    }
}

impl Drop for DashboardServer {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// Why [`Dashboard::serve`] did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// The address is not a loopback one, and remote access was not allowed.
    #[error(
        "refusing to serve the dashboard on {0}: it shows every actor and address of the \
         cluster; bind 127.0.0.1 (reach it through an SSH tunnel), or call \
         Dashboard::allow_remote() and set a token"
    )]
    NotLoopback(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr} for the dashboard: {source}; is the port in use?")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}
