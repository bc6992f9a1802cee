//! TLS for `scim serve --tls-cert FILE --tls-key FILE`: rustls with the `ring` provider,
//! the certificate chain and key read from PEM files once at start-up. Each connection's
//! handshake runs in that connection's task (see the listener), under its header timeout.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The first byte of a TLS record carrying a handshake message (RFC 8446 §5.1: content
/// type 22); a ClientHello always starts with it.
pub(crate) const HANDSHAKE_RECORD: u8 = 0x16;

/// The acceptor for the certificate chain in `cert` (PEM, leaf first) and the private key
/// in `key` (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC). Fails, with one line naming the file
/// and what is wrong, when a file is missing or unreadable, holds no certificate or key,
/// or the key is not the certificate's.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let pem_error = |file: &Path, what: &str, e: rustls_pki_types::pem::Error| match e {
        rustls_pki_types::pem::Error::NoItemsFound => {
            format!(
                "{}: no {what} found in the file (PEM expected)",
                file.display()
            )
        }
        e => format!("{}: cannot read the {what}: {e}", file.display()),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(cert, "certificate", e))?;
    if chain.is_empty() {
        return Err(format!(
            "{}: no certificate found in the file (PEM \"-----BEGIN CERTIFICATE-----\" expected)",
            cert.display()
        ));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| pem_error(key, "private key (PKCS#8, PKCS#1 RSA or SEC1 EC)", e))?;
    // ring, not aws-lc-rs, keeps a C/CMake build out of every CI run. rustls 0.23.48
    // deprecates ring's provider for lacking post-quantum key exchange (X25519MLKEM768);
    // the classical suites it offers are TLS 1.2/1.3's usual ones.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            format!(
                "TLS: the key in {} does not go with the certificate in {}: {e}",
                key.display(),
                cert.display()
            )
        })?;
    // HTTP/1.1 only (the server speaks nothing else); a client offering h2 falls back.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
