//! Local stand-ins for public IP echo services on 127.0.0.1: one that answers, one that never does.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long the server waits for a request's headers before dropping the connection, so a
/// stuck client cannot wedge the accept loop.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A server on 127.0.0.1 counting the requests it has read in full.
///
/// Its thread lives until the test binary exits; nothing else needs it.
pub(crate) struct HttpSource {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl HttpSource {
    /// Answers every request with `200 OK` and `body`, then closes the connection.
    pub(crate) fn answering(body: &'static str) -> HttpSource {
        HttpSource::serve(move |mut stream| {
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            // A client that went away is its own problem; the count already says it asked.
            let _ = stream.write_all(response.as_bytes());
            None
        })
    }

    /// Reads every request and never answers, holding each connection open for good.
    pub(crate) fn hanging() -> HttpSource {
        HttpSource::serve(Some)
    }

    /// Serves on a fresh port; `respond` gets each connection after its request was read and
    /// may hand it back to be kept open.
    fn serve(respond: impl Fn(TcpStream) -> Option<TcpStream> + Send + 'static) -> HttpSource {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if read_request_head(&mut stream) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    held.extend(respond(stream));
                }
            }
        });
        HttpSource {
            url: format!("http://{address}/ip"),
            requests,
        }
    }

    /// The URL to put in the provider's `sources`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// How many requests have been read so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Waits until at least one request has arrived; false when none did within `timeout`.
    pub(crate) async fn wait_for_request(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.requests() == 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}

/// Reads up to the blank line ending an HTTP request's head; false when the client sent none.
fn read_request_head(stream: &mut TcpStream) -> bool {
    if stream.set_read_timeout(Some(REQUEST_READ_TIMEOUT)).is_err() {
        return false;
    }
    let mut head = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(count) => head.extend_from_slice(&buffer[..count]),
        }
        if head.len() > 64 * 1024 {
            return false;
        }
    }
    true
}
