//! Updates send the ETag CloudFront gave with the configuration they changed, and try once
//! more, on a fresh configuration, when that ETag moved in between (`PreconditionFailed`).
//! moto never moves ETags, so a small fake CloudFront endpoint plays that part here.

use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_sdk_cloudfront::config::{BehaviorVersion, Region};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{CloudFront, PRECONDITION_FAILED};

const CONFIG: &str = "<CallerReference>ref-1</CallerReference>\
    <Aliases><Quantity>0</Quantity></Aliases>\
    <Origins><Quantity>1</Quantity><Items><Origin><Id>homelab-origin</Id>\
    <DomainName>clearbrook.goldentooth.net</DomainName></Origin></Items></Origins>\
    <DefaultCacheBehavior><TargetOriginId>homelab-origin</TargetOriginId>\
    <ViewerProtocolPolicy>allow-all</ViewerProtocolPolicy></DefaultCacheBehavior>\
    <Comment></Comment><Enabled>true</Enabled>";

/// What the fake endpoint saw and how it answers updates.
#[derive(Default)]
struct Endpoint {
    /// The `If-Match` header of every update, in order.
    if_match: Vec<String>,
    /// How many configuration reads there were (each gets a new ETag).
    reads: usize,
    /// How many updates are refused with `PreconditionFailed` before one succeeds.
    refusals: usize,
}

async fn serve(listener: TcpListener, endpoint: Arc<Mutex<Endpoint>>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(connection(stream, Arc::clone(&endpoint)));
    }
}

async fn connection(mut stream: TcpStream, endpoint: Arc<Mutex<Endpoint>>) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines()
                .find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.eq_ignore_ascii_case(name)
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let length: usize = header("content-length").parse().unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..head_end + length);
        let (status, etag, body) = {
            let mut endpoint = endpoint.lock().unwrap();
            if head.starts_with("GET ") {
                endpoint.reads += 1;
                let etag = format!("E-{}", endpoint.reads);
                (
                    200,
                    etag,
                    format!("<DistributionConfig>{CONFIG}</DistributionConfig>"),
                )
            } else {
                endpoint.if_match.push(header("if-match"));
                if endpoint.refusals > 0 {
                    endpoint.refusals -= 1;
                    (
                        412,
                        String::new(),
                        "<ErrorResponse><Error><Type>Sender</Type><Code>PreconditionFailed</Code>\
                         <Message>The request failed because it didn't meet the preconditions \
                         in one or more request-header fields.</Message></Error>\
                         <RequestId>r-1</RequestId></ErrorResponse>"
                            .to_owned(),
                    )
                } else {
                    (
                        200,
                        "E-updated".to_owned(),
                        format!(
                            "<Distribution><Id>E1</Id><ARN>arn:aws:cloudfront::1:distribution/E1\
                             </ARN><Status>InProgress</Status><LastModifiedTime>\
                             2026-01-01T00:00:00Z</LastModifiedTime>\
                             <InProgressInvalidationBatches>0</InProgressInvalidationBatches>\
                             <DomainName>d1.cloudfront.net</DomainName><DistributionConfig>\
                             {}</DistributionConfig></Distribution>",
                            CONFIG.replace("<Enabled>true", "<Enabled>false")
                        ),
                    )
                }
            }
        };
        let response = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/xml\r\nETag: {etag}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            if status == 200 {
                "OK"
            } else {
                "Precondition Failed"
            },
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn cloudfront_refusing(refusals: usize) -> (CloudFront, Arc<Mutex<Endpoint>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let endpoint = Arc::new(Mutex::new(Endpoint {
        refusals,
        ..Endpoint::default()
    }));
    tokio::spawn(serve(listener, Arc::clone(&endpoint)));
    let client = aws_sdk_cloudfront::Client::from_conf(
        aws_sdk_cloudfront::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(format!("http://{address}"))
            .build(),
    );
    (CloudFront::new(client), endpoint)
}

#[tokio::test]
async fn an_update_retries_once_with_the_new_etag_when_the_old_one_moved() {
    let (cloudfront, endpoint) = cloudfront_refusing(1).await;
    let distribution = cloudfront.set_enabled("E1", false).await.unwrap();
    assert!(!distribution.settings.enabled);
    assert_eq!(distribution.status, "InProgress");
    assert_eq!(endpoint.lock().unwrap().if_match, ["E-1", "E-2"]);
}

#[tokio::test]
async fn an_update_gives_up_when_the_etag_moves_twice() {
    let (cloudfront, endpoint) = cloudfront_refusing(2).await;
    let error = cloudfront.set_enabled("E1", false).await.unwrap_err();
    assert!(error.is_code(PRECONDITION_FAILED), "{error}");
    assert_eq!(endpoint.lock().unwrap().if_match, ["E-1", "E-2"]);
}

#[tokio::test]
async fn an_update_that_goes_through_sends_the_current_etag_once() {
    let (cloudfront, endpoint) = cloudfront_refusing(0).await;
    cloudfront.set_enabled("E1", false).await.unwrap();
    let endpoint = endpoint.lock().unwrap();
    assert_eq!(
        (endpoint.if_match.as_slice(), endpoint.reads),
        (&["E-1".to_owned()][..], 1)
    );
}
