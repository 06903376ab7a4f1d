//! TLS for the benchmark's second table (`--tls`): one CA made for the run, a certificate per
//! server naming 127.0.0.1, and the clients' trust in the CA. Both systems get the same:
//! TLS to their clients (HTTPS and WSS for lockd, gRPC over TLS for etcd) and mutual TLS
//! between their peers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

pub struct BenchTls {
    dir: PathBuf,
    pub ca_pem: String,
}

impl BenchTls {
    /// A CA and one certificate per name in `servers`, written under `dir`.
    pub fn create(dir: &Path, servers: &[String]) -> anyhow::Result<BenchTls> {
        std::fs::create_dir_all(dir)?;
        let ca_key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "lockd-bench CA");
        let ca = params.self_signed(&ca_key)?;
        let issuer = rcgen::Issuer::new(params, ca_key);
        for name in servers {
            let key = rcgen::KeyPair::generate()?;
            let mut leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
            // etcd checks its peers' certificates as clients and as servers.
            leaf.extended_key_usages =
                vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            let cert = leaf.signed_by(&key, &issuer)?;
            std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem())?;
            std::fs::write(dir.join(format!("{name}.crt")), cert.pem())?;
        }
        std::fs::write(dir.join("ca.crt"), ca.pem())?;
        Ok(BenchTls { dir: dir.to_path_buf(), ca_pem: ca.pem() })
    }

    pub fn cert(&self, server: &str) -> String {
        self.dir.join(format!("{server}.crt")).display().to_string()
    }

    pub fn key(&self, server: &str) -> String {
        self.dir.join(format!("{server}.key")).display().to_string()
    }

    pub fn ca(&self) -> String {
        self.dir.join("ca.crt").display().to_string()
    }

    /// A client that trusts the run's CA (rustls on ring, like the nodes).
    pub fn client_config(&self) -> anyhow::Result<Arc<rustls::ClientConfig>> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).context("the CA")?)?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}
