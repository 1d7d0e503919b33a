//! A tiny local HTTP server standing in for a public-IP echo service, whose answer tests change at runtime.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The most of a request the server reads; echo clients send a request line and a few headers.
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// How long a connection may take to send its request before the server gives up on it.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What the server answers to every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `200 OK` with this body.
    Body(String),
    /// This status with a short body.
    Status(u16),
    /// Reads the request and never answers, holding the connection until the server stops.
    Hang,
}

/// A running echo server on 127.0.0.1; stops on drop.
#[derive(Debug)]
pub struct EchoServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    answer: Mutex<Answer>,
    request_lines: Mutex<Vec<String>>,
    stopping: AtomicBool,
}

impl EchoServer {
    /// Starts a server on a free port of 127.0.0.1 that answers `200 OK` with `body`.
    pub fn start(body: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            answer: Mutex::new(Answer::Body(body.to_owned())),
            request_lines: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("echo-{}", address.port()))
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(EchoServer {
            address,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// The URL to configure as a source, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Answers `200 OK` with `body` from now on.
    pub fn set_body(&self, body: &str) {
        self.set_answer(Answer::Body(body.to_owned()));
    }

    /// Answers with HTTP status `status` from now on.
    pub fn fail_with_status(&self, status: u16) {
        self.set_answer(Answer::Status(status));
    }

    /// Never answers from now on (for timeout tests).
    pub fn hang(&self) {
        self.set_answer(Answer::Hang);
    }

    /// Replaces what the server answers.
    pub fn set_answer(&self, answer: Answer) {
        *lock(&self.shared.answer) = answer;
    }

    /// How many requests arrived so far (connections that sent nothing are not counted).
    pub fn request_count(&self) -> usize {
        lock(&self.shared.request_lines).len()
    }

    /// The request lines received so far, e.g. `GET / HTTP/1.1`.
    pub fn request_lines(&self) -> Vec<String> {
        lock(&self.shared.request_lines).clone()
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // The accept loop is blocked in accept(); one connection wakes it to see the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

/// A URL on 127.0.0.1 where nothing listens: the port was bound and released, so connecting is
/// refused at once.
pub fn refused_url() -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    drop(listener);
    Ok(format!("http://{address}/"))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not take the server down with a poisoned lock.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let connection_shared = Arc::clone(&shared);
        // One thread per connection so a hanging answer never blocks the next request.
        let _ = thread::Builder::new()
            .name("echo-connection".to_owned())
            .spawn(move || serve_connection(stream, &connection_shared));
    }
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let Some(request_line) = read_request_line(&mut stream) else {
        return;
    };
    lock(&shared.request_lines).push(request_line);
    let answer = lock(&shared.answer).clone();
    let response = match answer {
        Answer::Body(body) => response(200, &body),
        Answer::Status(status) => response(status, "echo server told to fail\n"),
        Answer::Hang => {
            while !shared.stopping.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(20));
            }
            return;
        }
    };
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads the request head and returns its first line, or `None` if the client sent nothing.
fn read_request_line(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(REQUEST_READ_TIMEOUT)).ok()?;
    let mut head = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < MAX_REQUEST_BYTES {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let line = head.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

fn response(status: u16, body: &str) -> String {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::time::Instant;

    /// A minimal HTTP GET, so the test does not depend on the client under test.
    fn get(address: SocketAddr, timeout: Duration) -> io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: echo\r\nUser-Agent: test\r\n\r\n")?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw)?;
        let status = raw
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let body = raw.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        Ok((status, body.to_owned()))
    }

    #[test]
    fn echo_server_answers_the_current_body_status_or_hangs_and_counts_requests() {
        let echo = EchoServer::start("81.2.69.160\n").unwrap();
        let timeout = Duration::from_secs(5);
        assert!(
            echo.url().starts_with("http://127.0.0.1:"),
            "{}",
            echo.url()
        );

        assert_eq!(
            get(echo.address(), timeout).unwrap(),
            (200, "81.2.69.160\n".to_owned())
        );
        echo.set_body("81.2.69.142\n");
        assert_eq!(
            get(echo.address(), timeout).unwrap(),
            (200, "81.2.69.142\n".to_owned())
        );
        echo.fail_with_status(500);
        assert_eq!(get(echo.address(), timeout).unwrap().0, 500);
        assert_eq!(echo.request_count(), 3);
        assert_eq!(echo.request_lines()[0], "GET / HTTP/1.1");

        echo.hang();
        let started = Instant::now();
        let error = get(echo.address(), Duration::from_millis(300)).unwrap_err();
        assert!(
            matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{error:?}"
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(echo.request_count(), 4);
    }

    #[test]
    fn echo_server_stops_on_drop_even_while_a_connection_hangs() {
        let echo = EchoServer::start("").unwrap();
        echo.hang();
        let address = echo.address();
        let hanging = thread::spawn(move || get(address, Duration::from_secs(10)));
        while echo.request_count() == 0 {
            thread::sleep(Duration::from_millis(10));
        }
        drop(echo);
        // The hanging connection is closed without an answer once the server stops.
        let (status, body) = hanging.join().unwrap().unwrap();
        assert_eq!((status, body.as_str()), (0, ""));
        assert!(
            TcpStream::connect(address).is_err(),
            "still listening on {address}"
        );
    }

    #[test]
    fn refused_url_refuses_connections() {
        let url = refused_url().unwrap();
        let address: SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let error = TcpStream::connect(address).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    }
}
