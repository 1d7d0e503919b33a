//! Amazon Resource Names parsed into their parts, so a certificate's region or a distribution's
//! id is read from the ARN instead of guessed from its text.

use std::fmt;

/// An ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// The service, e.g. `acm` or `cloudfront`.
    pub service: String,
    /// The region; empty for global services such as CloudFront.
    pub region: String,
    /// The twelve-digit account id.
    pub account: String,
    /// The rest, e.g. `certificate/0b6c...` or `distribution/E2QWRUHAPOMQZL`.
    pub resource: String,
}

/// Why a text is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    /// It does not start with `arn:` or has fewer than six colon-separated parts.
    #[error("{0:?} is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")]
    Malformed(String),
    /// The partition, service or resource part is empty.
    #[error("{text:?} has an empty {part}")]
    EmptyPart {
        /// The text given.
        text: String,
        /// Which part is empty.
        part: &'static str,
    },
}

impl Arn {
    /// Splits an ARN into its parts; the resource part may itself contain colons.
    pub fn parse(text: &str) -> Result<Arn, ArnError> {
        let mut parts = text.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(ArnError::Malformed(text.to_owned()));
        };
        for (part, value) in [
            ("partition", partition),
            ("service", service),
            ("resource", resource),
        ] {
            if value.is_empty() {
                return Err(ArnError::EmptyPart {
                    text: text.to_owned(),
                    part,
                });
            }
        }
        Ok(Arn {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }

    /// The id after `KIND/` in the resource part, e.g. the distribution id of
    /// `distribution/E2QWRUHAPOMQZL`; `None` when the resource is of another kind.
    pub fn resource_id(&self, kind: &str) -> Option<&str> {
        self.resource
            .strip_prefix(kind)?
            .strip_prefix('/')
            .filter(|id| !id.is_empty())
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_arns_split_into_region_and_id() {
        let text =
            "arn:aws:acm:us-east-1:123456789012:certificate/0b6c2a5e-1111-2222-3333-444455556666";
        let arn = Arn::parse(text).unwrap();
        assert_eq!(arn.service, "acm");
        assert_eq!(arn.region, "us-east-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(
            arn.resource_id("certificate"),
            Some("0b6c2a5e-1111-2222-3333-444455556666")
        );
        assert_eq!(arn.resource_id("distribution"), None);
        assert_eq!(arn.to_string(), text);
    }

    #[test]
    fn global_services_have_an_empty_region() {
        let arn =
            Arn::parse("arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL").unwrap();
        assert_eq!(arn.region, "");
        assert_eq!(arn.resource_id("distribution"), Some("E2QWRUHAPOMQZL"));
    }

    #[test]
    fn texts_that_are_not_arns_are_refused() {
        assert!(matches!(
            Arn::parse("0b6c2a5e-1111"),
            Err(ArnError::Malformed(_))
        ));
        assert!(matches!(
            Arn::parse("arn:aws:acm:us-east-1:1"),
            Err(ArnError::Malformed(_))
        ));
        assert!(matches!(
            Arn::parse("arn:aws::us-east-1:1:x"),
            Err(ArnError::EmptyPart {
                part: "service",
                ..
            })
        ));
        assert!(matches!(
            Arn::parse("arn:aws:acm:us-east-1:1:"),
            Err(ArnError::EmptyPart {
                part: "resource",
                ..
            })
        ));
    }
}
