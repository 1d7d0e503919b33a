//! Errors from AWS calls, keeping AWS's own error code and message, and the one place they
//! become diagnostics.

use std::error::Error as StdError;
use std::fmt::Debug;
use std::time::Duration;

use aws_sdk_route53::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::RequestId;

use super::config::Service;
use crate::tf::Diagnostic;

/// Why an AWS call failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// AWS answered, with an error of its own.
    #[error(
        "{} {operation} failed: {code}: {message}{}",
        service.display_name(),
        request_id.as_ref().map(|id| format!(" (request id {id})")).unwrap_or_default()
    )]
    Api {
        /// The service called.
        service: Service,
        /// The operation, e.g. `ChangeResourceRecordSets`.
        operation: &'static str,
        /// AWS's error code, e.g. `InvalidChangeBatch`.
        code: String,
        /// AWS's message.
        message: String,
        /// The request id, for AWS support.
        request_id: Option<String>,
    },
    /// No answer from AWS: the endpoint could not be reached, the call timed out, or no
    /// credentials were found.
    #[error("{} {operation} failed: {detail}", service.display_name())]
    NoAnswer {
        /// The service called.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// The SDK's account of what went wrong, with every cause.
        detail: String,
    },
    /// The provider could not build the request (a bug or a value AWS cannot take).
    #[error("{} {operation}: cannot build the request: {detail}", service.display_name())]
    BadRequest {
        /// The service.
        service: Service,
        /// The operation.
        operation: &'static str,
        /// What the SDK's builder said.
        detail: String,
    },
    /// A change was accepted but did not finish within the allowed time.
    #[error("{what} did not finish within {}s; {hint}", waited.as_secs())]
    TimedOut {
        /// What was waited for.
        what: String,
        /// How long.
        waited: Duration,
        /// What the user can do.
        hint: String,
    },
    /// Terraform asked the provider to stop while a call or a wait was in flight.
    #[error("cancelled while {0}")]
    Cancelled(String),
}

impl AwsError {
    /// Turns an SDK error into ours, keeping AWS's code and message when AWS answered.
    pub fn from_sdk<E, R>(service: Service, operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: Debug,
    {
        if let SdkError::ServiceError(service_error) = &error {
            let metadata = service_error.err().meta();
            if let Some(code) = metadata.code() {
                return AwsError::Api {
                    service,
                    operation,
                    code: code.to_owned(),
                    message: metadata.message().unwrap_or("(no message)").to_owned(),
                    request_id: metadata.request_id().map(str::to_owned),
                };
            }
        }
        AwsError::NoAnswer {
            service,
            operation,
            detail: DisplayErrorContext(&error).to_string(),
        }
    }

    /// A builder error of the SDK.
    pub fn bad_request(
        service: Service,
        operation: &'static str,
        error: impl std::fmt::Display,
    ) -> Self {
        AwsError::BadRequest {
            service,
            operation,
            detail: error.to_string(),
        }
    }

    /// AWS's error code, when AWS answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether AWS answered with this error code.
    pub fn is_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// The diagnostic for this error under `summary`; the detail carries AWS's code and
    /// message, and a hint where the cause is usually the setup rather than the input.
    pub fn to_diagnostic(&self, summary: &str) -> Diagnostic {
        let hint = match self {
            AwsError::NoAnswer { service, .. } => format!(
                "\n\nCheck the provider's aws block or the AWS environment: credentials \
                 (access_key/secret_key, AWS_ACCESS_KEY_ID, a profile), and the endpoint \
                 (endpoints.{}, {}) if you use a custom one.",
                service.endpoint_attribute(),
                service.endpoint_env()
            ),
            AwsError::Api { code, .. } if is_credentials_code(code) => {
                "\n\nAWS rejected the credentials: check the provider's aws block, \
                 AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the profile."
                    .to_owned()
            }
            _ => String::new(),
        };
        Diagnostic::error(summary, format!("{self}{hint}"))
    }
}

fn is_credentials_code(code: &str) -> bool {
    matches!(
        code,
        "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "UnrecognizedClientException"
            | "ExpiredToken"
            | "AccessDenied"
            | "AccessDeniedException"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_carry_aws_code_message_and_request_id() {
        let error = AwsError::Api {
            service: Service::Route53,
            operation: "ChangeResourceRecordSets",
            code: "InvalidChangeBatch".into(),
            message: "RRSet of type CNAME with DNS name x. is not permitted".into(),
            request_id: Some("abc-123".into()),
        };
        assert!(error.is_code("InvalidChangeBatch"));
        let diagnostic = error.to_diagnostic("Cannot change the DNS record");
        assert_eq!(diagnostic.summary, "Cannot change the DNS record");
        assert_eq!(
            diagnostic.detail,
            "Route53 ChangeResourceRecordSets failed: InvalidChangeBatch: RRSet of type CNAME \
             with DNS name x. is not permitted (request id abc-123)"
        );
    }

    #[test]
    fn sdk_errors_of_any_service_keep_aws_code_message_and_request_id() {
        use aws_sdk_acm::error::ErrorMetadata;
        use aws_sdk_acm::operation::describe_certificate::DescribeCertificateError;
        let metadata = ErrorMetadata::builder()
            .code("ResourceNotFoundException")
            .message("Could not find certificate arn:aws:acm:us-east-1:1:certificate/x")
            .custom("aws_request_id", "req-1")
            .build();
        let sdk_error = SdkError::service_error(DescribeCertificateError::generic(metadata), ());
        let error = AwsError::from_sdk(Service::Acm, "DescribeCertificate", sdk_error);
        assert!(error.is_code("ResourceNotFoundException"), "{error:?}");
        assert_eq!(
            error.to_string(),
            "ACM DescribeCertificate failed: ResourceNotFoundException: Could not find \
             certificate arn:aws:acm:us-east-1:1:certificate/x (request id req-1)"
        );
    }

    #[test]
    fn unanswered_calls_point_at_credentials_and_endpoints() {
        let error = AwsError::NoAnswer {
            service: Service::Acm,
            operation: "DescribeCertificate",
            detail: "dispatch failure: connection refused".into(),
        };
        assert_eq!(error.code(), None);
        let detail = error.to_diagnostic("x").detail;
        assert!(detail.contains("connection refused"), "{detail}");
        assert!(detail.contains("AWS_ENDPOINT_URL_ACM"), "{detail}");
    }
}
