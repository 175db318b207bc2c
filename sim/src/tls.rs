//! HTTPS: a throw-away local certificate authority and a server certificate for
//! `127.0.0.1` and `localhost` signed by it, made fresh for each simulated org.
//!
//! Clients trust the authority's certificate (`SimHandle::certificate_pem`): a CA and
//! a separate leaf satisfy every verifier we meet. rustls refuses a CA certificate
//! used as a server certificate, and OpenSSL's strict mode (Python 3.13) wants a
//! proper CA with key identifiers.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// The names the server certificate is valid for.
pub const NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// What a TLS-serving org needs: the acceptor, and the certificate clients trust.
#[derive(Clone)]
pub struct Identity {
    /// PEM of the local certificate authority that signed the server certificate.
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

fn tls_error(err: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("cannot make the TLS certificate: {err}"))
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "runner simulated org");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Makes the authority, the server certificate and a rustls acceptor (ring provider,
/// HTTP/1.1 only).
pub fn identity() -> std::io::Result<Identity> {
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name("runner simulated org local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(tls_error)?;

    let mut leaf_params =
        CertificateParams::new(NAMES.iter().map(|n| n.to_string()).collect::<Vec<_>>()).map_err(tls_error)?;
    leaf_params.distinguished_name = name("127.0.0.1");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().map_err(tls_error)?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(tls_error)?;

    let chain = vec![leaf.der().clone(), ca.der().clone()];
    let key = pki_types::PrivateKeyDer::Pkcs8(pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity { ca_pem: ca.pem(), acceptor: TlsAcceptor::from(Arc::new(config)) })
}
