//! The dashboard's routes: the page and its assets, the cluster snapshot
//! as JSON, and the event stream; and the token check in front of them.
//!
//! Every URL the page uses is relative to the page, so the router works
//! nested under any prefix. Nothing here changes anything: every route is
//! a GET that reads.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::feed::{Encoded, Feed};
use crate::Node;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// What every route reads.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) node: Node,
    pub(crate) feed: Arc<Feed>,
    pub(crate) deadline: Duration,
    pub(crate) token: Option<Arc<str>>,
    pub(crate) closed: CancellationToken,
}

/// The dashboard's routes over `served`.
pub(crate) fn router(served: Arc<Served>) -> Router {
    // The assets are the same in every build and hold no data, and the
    // page could not pass a `?token=` on to them: they are open.
    let assets = Router::new()
        .route(
            "/app.js",
            get(|| asset(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/style.css",
            get(|| asset(STYLE_CSS, "text/css; charset=utf-8")),
        );
    let guarded = Router::new()
        .route("/", get(page))
        .route("/api/cluster", get(cluster))
        .route("/api/events", get(events))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&served),
            require_token,
        ))
        .with_state(served);
    guarded.merge(assets)
}

/// The headers of every dashboard response that browsers act on.
fn hardened(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; \
             connect-src 'self'; img-src 'self' data:; base-uri 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A `?token=` in the page's URL must not leave in a Referer header.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    hardened(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// The page. Its URLs are relative to its directory: asked for as
/// `/prefix` (the root of a router nested with `Router::nest`, which does
/// not answer `/prefix/`), it names `prefix/` as its base.
async fn page(OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    let base = match path.rsplit_once('/') {
        Some((_, last)) if !last.is_empty() => {
            format!("<base href=\"{}/\">", escape_attribute(last))
        }
        _ => String::new(),
    };
    let response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        INDEX_HTML.replacen(BASE_MARK, &base, 1),
    );
    hardened(response.into_response())
}

/// Where the page's `<base>` goes, if it needs one.
const BASE_MARK: &str = "<!-- base -->";

/// `text` safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The whole cluster's snapshot, as JSON.
async fn cluster(State(served): State<Arc<Served>>) -> Response {
    let snapshot = served.node.cluster_snapshot(served.deadline).await;
    hardened(([(header::CACHE_CONTROL, "no-store")], Json(snapshot)).into_response())
}

/// The live stream: `hello`, then `snapshot` each interval and `restart`,
/// `dead_letter` and `node` events as they are seen.
async fn events(State(served): State<Arc<Served>>) -> Response {
    if served.closed.is_cancelled() {
        // A 503 ends the browser's EventSource without retries.
        return (StatusCode::SERVICE_UNAVAILABLE, "this dashboard is closed").into_response();
    }
    let subscription = served.feed.subscribe();
    let first: Vec<Encoded> = std::iter::once(subscription.hello)
        .chain(subscription.latest)
        .collect();
    let updates = stream::unfold(subscription.updates, |mut updates| async move {
        loop {
            match updates.recv().await {
                Ok(batch) => return Some((batch.to_vec(), updates)),
                // The next snapshot supersedes the skipped ones.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let events = stream::once(async move { first })
        .chain(updates)
        .flat_map(|batch| stream::iter(batch.into_iter().map(to_event)));
    let sse = Sse::new(events).keep_alive(KeepAlive::default());
    hardened(([(header::CACHE_CONTROL, "no-store")], sse).into_response())
}

fn to_event(encoded: Encoded) -> Result<Event, Infallible> {
    Ok(Event::default().event(encoded.name).data(&*encoded.data))
}

/// `?token=` in a URL.
#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Lets a request through if no token is set, or it carries the token as
/// `Authorization: Bearer …` or `?token=…`.
async fn require_token(
    State(served): State<Arc<Served>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &served.token else {
        return next.run(request).await;
    };
    let offered = bearer(request.headers()).map(str::to_owned).or_else(|| {
        Query::<TokenQuery>::try_from_uri(request.uri())
            .ok()
            .and_then(|Query(query)| query.token)
    });
    match offered {
        Some(offered) if same(offered.as_bytes(), expected.as_bytes()) => next.run(request).await,
        _ => {
            let refusal = (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "this dashboard needs its token: open it as ...?token=TOKEN, \
                 or send the header `Authorization: Bearer TOKEN`\n",
            );
            refusal.into_response()
        }
    }
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether two tokens are equal, in a time that does not depend on where
/// they differ (it does on their lengths, which a guesser learns nothing
/// useful from).
fn same(offered: &[u8], expected: &[u8]) -> bool {
    offered.len() == expected.len()
        && offered
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        assert!(!same(b"", b"secret"));
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(
            escape_attribute("a\"><script>"),
            "a&quot;&gt;&lt;script&gt;"
        );
        assert_eq!(escape_attribute("proscenium"), "proscenium");
    }

    #[test]
    fn bearer_reads_the_scheme_in_any_case() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
