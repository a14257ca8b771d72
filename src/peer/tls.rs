//! How a WSS connection checks the server's certificate, and the TLS client configuration that does
//! it. Three ways, chosen per connection ([`CertificateCheck`]): the operating system's trust store,
//! the CA certificates of a PEM file, or one pinned certificate (its SHA-256 fingerprint).
//!
//! A certificate that fails the check ends the connection with SecurityExceptionOnConnect (1022);
//! [`failure`] turns a rustls error into the status and a message that says what was wrong.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::protocol::noise::hex;
use crate::protocol::status::StatusCode;

/// How a WSS connection decides that it talks to the right server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CertificateCheck {
    /// A certificate chain to a root the operating system trusts, for the URL's host name (what a
    /// browser does). The default.
    #[default]
    SystemRoots,
    /// A certificate chain to one of the CA certificates in this PEM file, for the URL's host name.
    /// The file is read when the connect is requested (an unreadable file or one without a
    /// certificate refuses the connect), so it may change between connections.
    CaFile(PathBuf),
    /// Exactly this certificate: the SHA-256 of its DER encoding, as `sealnet-server` prints for the
    /// certificate it uses. Neither its issuer, nor its names, nor its validity period are checked:
    /// the fingerprint names the certificate, as a Noise pin names a key. The server must still prove
    /// that it holds the certificate's private key (the handshake signature is verified).
    Fingerprint([u8; 32]),
}

/// What a connection's check needs, prepared on the host's thread when the connect is requested.
#[derive(Debug, Clone)]
pub(crate) enum Trust {
    /// Loaded on the I/O thread, at each connection (the store may change while a game runs).
    System,
    /// The roots of a CA file, and the file's name for messages.
    Roots {
        roots: Arc<RootCertStore>,
        source: String,
    },
    Pinned([u8; 32]),
}

impl Trust {
    /// Reads what the check needs; a CA file that cannot be used is refused with a message naming it.
    pub fn prepare(check: &CertificateCheck) -> Result<Trust, String> {
        match check {
            CertificateCheck::SystemRoots => Ok(Trust::System),
            CertificateCheck::Fingerprint(fingerprint) => Ok(Trust::Pinned(*fingerprint)),
            CertificateCheck::CaFile(path) => {
                let source = path.display().to_string();
                let certificates = CertificateDer::pem_file_iter(path)
                    .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                    .map_err(|error| format!("cannot read the CA file {source}: {error}"))?;
                let mut roots = RootCertStore::empty();
                let (added, _) = roots.add_parsable_certificates(certificates);
                if added == 0 {
                    return Err(format!("the CA file {source} holds no usable CA certificate (PEM)"));
                }
                Ok(Trust::Roots { roots: Arc::new(roots), source })
            }
        }
    }

    /// The TLS client configuration for this check: TLS 1.2 or 1.3 with the ring provider, no client
    /// certificate. Fails (SecurityExceptionOnConnect) when the system store holds no root.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, (StatusCode, String)> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| (StatusCode::Exception, format!("TLS configuration: {error}")))?;
        let verifier: Arc<dyn ServerCertVerifier> = match self {
            Trust::Pinned(fingerprint) => Arc::new(PinnedCertificate { fingerprint: *fingerprint, provider }),
            Trust::Roots { roots, .. } => web_pki(roots.clone(), provider)?,
            Trust::System => {
                let loaded = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(loaded.certs);
                if roots.is_empty() {
                    let detail = loaded.errors.first().map(|error| format!(" ({error})")).unwrap_or_default();
                    let message = format!(
                        "the system's trust store holds no root certificate{detail}: set a CA file or pin the \
                         server's certificate"
                    );
                    return Err((StatusCode::SecurityExceptionOnConnect, message));
                }
                web_pki(Arc::new(roots), provider)?
            }
        };
        Ok(Arc::new(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()))
    }

    /// Where the trusted roots come from, for messages.
    fn describe(&self) -> String {
        match self {
            Trust::System => "the system's trust store".to_owned(),
            Trust::Roots { source, .. } => format!("the CA file {source}"),
            Trust::Pinned(_) => "the pinned fingerprint".to_owned(),
        }
    }
}

fn web_pki(
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, (StatusCode, String)> {
    let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|error| (StatusCode::SecurityExceptionOnConnect, format!("TLS certificate check: {error}")))?;
    Ok(verifier)
}

/// The SHA-256 fingerprint of a certificate's DER encoding, as pinned.
pub fn certificate_fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Accepts the one certificate whose fingerprint is pinned; the handshake's signature is checked
/// with that certificate's key by rustls' own routines, so a server that only copied the
/// certificate, without its private key, is refused.
#[derive(Debug)]
struct PinnedCertificate {
    fingerprint: [u8; 32],
    provider: Arc<CryptoProvider>,
}

/// The pinned fingerprint did not match: carried inside rustls' error so the status can say so.
#[derive(Debug)]
struct FingerprintMismatch {
    got: [u8; 32],
}

impl std::fmt::Display for FingerprintMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the server's certificate does not match the pinned fingerprint: got {}", hex(&self.got))
    }
}

impl std::error::Error for FingerprintMismatch {}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = certificate_fingerprint(end_entity);
        if got != self.fingerprint {
            let mismatch = OtherError(Arc::new(FingerprintMismatch { got }));
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(mismatch)));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The status and message for a TLS handshake that failed: a certificate the check refused is a
/// SecurityExceptionOnConnect (1022), anything else (no common protocol version, an alert from the
/// server, a broken record) an ExceptionOnConnect (1023).
pub(crate) fn failure(error: &rustls::Error, trust: &Trust, host: &str) -> (StatusCode, String) {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            if let Some(mismatch) = other.0.downcast_ref::<FingerprintMismatch>() {
                return (StatusCode::SecurityExceptionOnConnect, mismatch.to_string());
            }
            let message = format!("the server's certificate for {host} is not trusted ({}): {error}", trust.describe());
            (StatusCode::SecurityExceptionOnConnect, message)
        }
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => {
            let message = format!("the server's certificate for {host} is not trusted ({}): {error}", trust.describe());
            (StatusCode::SecurityExceptionOnConnect, message)
        }
        other => (StatusCode::ExceptionOnConnect, format!("the TLS handshake with {host} failed: {other}")),
    }
}

/// The name the server's certificate must carry: the URL's host (an IP address is checked against
/// the certificate's IP addresses).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned())
        .map_err(|error| format!("{host:?} cannot be checked against a certificate: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_name() {
        let dir = std::env::temp_dir().join(format!("sealnet-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = Trust::prepare(&CertificateCheck::CaFile(empty.clone())).unwrap_err();
        assert!(error.contains("holds no usable CA certificate") && error.contains("empty.pem"), "{error}");
        let missing = dir.join("missing.pem");
        let error = Trust::prepare(&CertificateCheck::CaFile(missing)).unwrap_err();
        assert!(error.starts_with("cannot read the CA file") && error.contains("missing.pem"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fingerprint_mismatch_names_the_certificate_presented() {
        let got = [0xAB; 32];
        let mismatch = OtherError(Arc::new(FingerprintMismatch { got }));
        let error = rustls::Error::InvalidCertificate(CertificateError::Other(mismatch));
        let (code, message) = failure(&error, &Trust::Pinned([0; 32]), "game.example");
        assert_eq!(code, StatusCode::SecurityExceptionOnConnect);
        assert_eq!(
            message,
            format!("the server's certificate does not match the pinned fingerprint: got {}", "ab".repeat(32))
        );
        let (code, message) = failure(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &Trust::System,
            "game.example",
        );
        assert_eq!(code, StatusCode::SecurityExceptionOnConnect);
        assert!(message.contains("not trusted (the system's trust store)"), "{message}");
        let (code, _) = failure(&rustls::Error::DecryptError, &Trust::System, "game.example");
        assert_eq!(code, StatusCode::ExceptionOnConnect);
    }
}
