//! TLS material: loading PEM files and checking server names, and how every link (to
//! sentinels, data connections, ROLE probes) dials.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{Credentials, TlsOptions};
use crate::error::{Error, Result};

/// How to dial one kind of node: credentials to AUTH with, TLS to wrap the socket in, and
/// TCP keepalive (zero: off).
#[derive(Clone, Default)]
pub(crate) struct Dial {
    pub auth: Option<Credentials>,
    pub tls: Option<TlsLink>,
    pub keepalive: Duration,
}

/// A ready rustls configuration, and the name to verify instead of the dialed host.
#[derive(Clone)]
pub(crate) struct TlsLink {
    pub config: Arc<rustls::ClientConfig>,
    pub server_name: Option<String>,
}

impl Dial {
    pub fn new(
        auth: Option<&Credentials>,
        tls: Option<&TlsOptions>,
        keepalive: Duration,
    ) -> Result<Dial> {
        Ok(Dial {
            auth: auth.cloned(),
            tls: tls.map(TlsLink::new).transpose()?,
            keepalive,
        })
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read {what} {}: {e}", path.display())))
}

/// The PEM files of `opts`, read: (CA bundle, client certificate chain, client key).
pub(crate) struct TlsFiles {
    pub ca: Option<Vec<u8>>,
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsFiles {
    pub fn load(opts: &TlsOptions) -> Result<TlsFiles> {
        let ca = opts
            .ca_file
            .as_deref()
            .map(|p| read(p, "CA file"))
            .transpose()?;
        let client = match (&opts.cert_file, &opts.key_file) {
            (Some(cert), Some(key)) => {
                Some((read(cert, "certificate file")?, read(key, "key file")?))
            }
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "a client certificate needs both a cert file and a key file",
                ))
            }
        };
        Ok(TlsFiles { ca, client })
    }
}

/// Reads the files of `opts` and checks its server name: a bad option fails when it is set.
pub(crate) fn check(opts: &TlsOptions) -> Result<()> {
    TlsFiles::load(opts)?;
    check_server_name(opts)
}

fn check_server_name(opts: &TlsOptions) -> Result<()> {
    if let Some(name) = &opts.server_name {
        rustls::pki_types::ServerName::try_from(name.as_str())
            .map_err(|e| Error::invalid(format!("bad TLS server name \"{name}\": {e}")))?;
    }
    Ok(())
}

impl TlsLink {
    pub fn new(opts: &TlsOptions) -> Result<TlsLink> {
        let files = TlsFiles::load(opts)?;
        check_server_name(opts)?;
        let mut roots = rustls::RootCertStore::empty();
        match &files.ca {
            Some(pem) => {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| Error::invalid(format!("bad CA file: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| Error::invalid(format!("bad CA certificate: {e}")))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::invalid(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        let config = match &files.client {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(cert)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::invalid(format!("bad certificate file: {e}")))?;
                let key = PrivateKeyDer::from_pem_slice(key)
                    .map_err(|e| Error::invalid(format!("bad key file: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::invalid(format!("bad client certificate or key: {e}")))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(TlsLink {
            config: Arc::new(config),
            server_name: opts.server_name.clone(),
        })
    }
}
