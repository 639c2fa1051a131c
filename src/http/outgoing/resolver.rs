//! DNS for requests to sites' endpoints. Resolution and the address check happen in
//! one place, and the HTTP client connects only to the addresses returned here, so a
//! name cannot pass the check with one answer and connect with another (no
//! DNS-rebinding window). IP-literal URLs never reach a resolver: the client
//! ([`super::GuardedClient`]) checks those itself.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::is_public;

/// Why a verification endpoint may not be contacted (a policy decision, not a network failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointRefused {
    #[error("the endpoint must use https")]
    NotHttps,
    #[error("the endpoint host {host} is the internal address {ip}")]
    InternalAddress { host: String, ip: IpAddr },
    #[error("the endpoint host {host} resolves to no address")]
    NoAddress { host: String },
}

/// Resolves with the system resolver (through tokio) and, unless private endpoints
/// are allowed, refuses a name if any of its addresses is not public.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            check_resolved(&host, &addrs, allow_private)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A name is refused as a whole when any address is internal: a mixed answer is
/// exactly what a rebinding attacker would send.
pub fn check_resolved(
    host: &str,
    addrs: &[SocketAddr],
    allow_private: bool,
) -> Result<(), EndpointRefused> {
    if addrs.is_empty() {
        return Err(EndpointRefused::NoAddress { host: host.into() });
    }
    if allow_private {
        return Ok(());
    }
    match addrs.iter().map(SocketAddr::ip).find(|ip| !is_public(*ip)) {
        Some(ip) => Err(EndpointRefused::InternalAddress {
            host: host.into(),
            ip,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        SocketAddr::new(text.parse().unwrap(), 0)
    }

    #[test]
    fn mixed_answers_are_refused_as_a_whole() {
        let mixed = [addr("93.184.216.34"), addr("127.0.0.1")];
        assert!(matches!(
            check_resolved("a.example", &mixed, false),
            Err(EndpointRefused::InternalAddress { .. })
        ));
        assert!(check_resolved("a.example", &mixed, true).is_ok());
        assert!(check_resolved("a.example", &[addr("93.184.216.34")], false).is_ok());
        assert!(matches!(
            check_resolved("a.example", &[], true),
            Err(EndpointRefused::NoAddress { .. })
        ));
    }

    #[tokio::test]
    async fn localhost_is_refused_by_the_resolver() {
        let resolver = GuardedResolver {
            allow_private: false,
        };
        let result = resolver.resolve("localhost".parse().unwrap()).await;
        let error = result.err().expect("localhost must be refused");
        assert!(error.downcast_ref::<EndpointRefused>().is_some(), "{error}");

        let open = GuardedResolver {
            allow_private: true,
        };
        let addrs: Vec<_> = open
            .resolve("localhost".parse().unwrap())
            .await
            .expect("allowed")
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
