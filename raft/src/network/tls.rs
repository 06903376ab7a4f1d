//! TLS material from PEM files, rebuilt when the files change (ADR 26).
//!
//! Certificates are rotated by replacing files (cert-manager rewrites a mounted Secret,
//! an operator runs a script): [`Reloading`] notices a changed file (its length or
//! modification time) on the next check, or at once on SIGHUP, and builds a new config
//! that every connection opened after it uses. Open connections keep the config they
//! shook hands with, so nothing is dropped. If the new files do not make a valid config
//! (a certificate written before its key, a key that does not match) the old config stays
//! and the check runs again next time: a half-finished rotation never takes a node down.
//!
//! Between peers (ADR 26) both ends present a certificate of the cluster's CA: the server
//! side of the peer port (`listener::incoming`) refuses a client without one in the handshake, and
//! [`PeerCertificates`] says which members a certificate names, for the guard in `auth.rs`.
//!
//! Crypto is rustls on ring: no OpenSSL, no C/CMake build (aws-lc).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::types::NodeId;

/// The crypto every TLS config of the node uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its key, and optionally the CA that peers' certificates must
/// chain to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: Option<PathBuf>,
}

impl TlsFiles {
    fn paths(&self) -> Vec<PathBuf> {
        [Some(&self.cert), Some(&self.key), self.ca.as_ref()].into_iter().flatten().cloned().collect()
    }
}

pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()));
    }
    Ok(certs)
}

pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every certificate in `path` as a trust anchor (during a CA rotation the file holds the
/// old CA and the new one).
pub fn read_roots(path: &Path) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots.add(cert).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(Arc::new(roots))
}

/// A server config for clients that present no certificate (the HTTP port): TLS 1.3 and
/// 1.2 with rustls's suites (forward-secret AEAD only), ALPN h2 and http/1.1.
pub fn server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, String> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(read_certs(&files.cert)?, read_key(&files.key)?)
        .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn ca_of(files: &TlsFiles) -> Result<&Path, String> {
    files.ca.as_deref().ok_or_else(|| "peers need the cluster's CA file".to_owned())
}

/// The peer port's server side: peers must present a certificate that chains to the CA in
/// `files.ca` (every certificate in it is trusted: during a CA rotation it holds both).
pub fn peer_server_config(files: &TlsFiles) -> Result<rustls::ServerConfig, String> {
    let roots = read_roots(ca_of(files)?)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|e| format!("{}: {e}", files.ca.as_ref().expect("checked").display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certs(&files.cert)?, read_key(&files.key)?)
        .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// The peer port's client side: the server must present a certificate of the CA naming the
/// host of the address dialled; this node presents its own.
pub fn peer_client_config(files: &TlsFiles) -> Result<rustls::ClientConfig, String> {
    let roots = read_roots(ca_of(files)?)?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(read_certs(&files.cert)?, read_key(&files.key)?)
        .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Both sides of the peer port's TLS, rebuilt from the same files.
#[derive(Clone)]
pub struct PeerTls {
    pub server: Arc<Reloading<rustls::ServerConfig>>,
    pub client: Arc<Reloading<rustls::ClientConfig>>,
}

impl PeerTls {
    pub fn new(files: &TlsFiles) -> Result<PeerTls, String> {
        let (for_server, for_client) = (files.clone(), files.clone());
        Ok(PeerTls {
            server: Reloading::new(files, move || peer_server_config(&for_server))?,
            client: Reloading::new(files, move || peer_client_config(&for_client))?,
        })
    }
}

/// The host part of a member address (`host:port`, `[v6]:port`).
pub fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(host, _)| host).trim_start_matches('[').trim_end_matches(']')
}

/// The certificate chain a peer presented in the handshake, leaf first. tonic puts it in
/// every request's extensions (it is the connection's `ConnectInfo`).
#[derive(Debug, Clone, Default)]
pub struct PeerCertificates(pub Arc<Vec<CertificateDer<'static>>>);

impl PeerCertificates {
    /// The members (id, peer address) whose host the leaf certificate names, by the rules a
    /// TLS client checks a server name with (DNS names and IP addresses in its SANs).
    pub fn members_named(&self, members: &[(NodeId, String)]) -> BTreeSet<NodeId> {
        let Some(leaf) = self.0.first() else { return BTreeSet::new() };
        let Ok(parsed) = rustls::server::ParsedCertificate::try_from(leaf) else { return BTreeSet::new() };
        members
            .iter()
            .filter(|(_, addr)| {
                ServerName::try_from(host_of(addr))
                    .is_ok_and(|name| rustls::client::verify_server_name(&parsed, &name).is_ok())
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// A value built from files and rebuilt when they change.
pub struct Reloading<T> {
    paths: Vec<PathBuf>,
    build: Box<dyn Fn() -> Result<T, String> + Send + Sync>,
    current: RwLock<Arc<T>>,
    /// The files' stamps when `current` was built.
    built_from: Mutex<Vec<Stamp>>,
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Builds the first value; an error here is a start-up error.
    pub fn new(
        files: &TlsFiles,
        build: impl Fn() -> Result<T, String> + Send + Sync + 'static,
    ) -> Result<Arc<Self>, String> {
        let paths = files.paths();
        let stamps = paths.iter().map(|p| stamp(p)).collect();
        let first = build()?;
        Ok(Arc::new(Reloading {
            paths,
            build: Box::new(build),
            current: RwLock::new(Arc::new(first)),
            built_from: Mutex::new(stamps),
        }))
    }

    pub fn current(&self) -> Arc<T> {
        self.current.read().expect("not poisoned").clone()
    }

    /// Rebuilds if a file changed since the last build: Ok(true) if it did, Err if the new
    /// files do not build (the old value stays, and the next call tries again).
    pub fn reload_if_changed(&self) -> Result<bool, String> {
        let stamps: Vec<Stamp> = self.paths.iter().map(|p| stamp(p)).collect();
        if *self.built_from.lock().expect("not poisoned") == stamps {
            return Ok(false);
        }
        self.rebuild(stamps).map(|()| true)
    }

    /// Rebuilds now (SIGHUP), whatever the stamps say.
    pub fn reload(&self) -> Result<(), String> {
        self.rebuild(self.paths.iter().map(|p| stamp(p)).collect())
    }

    fn rebuild(&self, stamps: Vec<Stamp>) -> Result<(), String> {
        let value = (self.build)()?;
        *self.current.write().expect("not poisoned") = Arc::new(value);
        *self.built_from.lock().expect("not poisoned") = stamps;
        Ok(())
    }
}

/// Anything [`Reloading`] that a watcher can poke, whatever it builds.
pub trait Reload: Send + Sync {
    fn reload_if_changed(&self) -> Result<bool, String>;
    fn reload(&self) -> Result<(), String>;
}

impl<T: Send + Sync + 'static> Reload for Reloading<T> {
    fn reload_if_changed(&self) -> Result<bool, String> {
        Reloading::reload_if_changed(self)
    }
    fn reload(&self) -> Result<(), String> {
        Reloading::reload(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> TlsFiles {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem"), ca: None }
    }

    #[test]
    fn a_changed_pair_is_picked_up_and_a_broken_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_pair(dir.path(), "one.example");
        let builds = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = builds.clone();
        let built_files = files.clone();
        let reloading = Reloading::new(&files, move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let config = server_config(&built_files)?;
            Ok((config, std::fs::read(&built_files.cert).unwrap()))
        })
        .unwrap();
        assert!(!reloading.reload_if_changed().unwrap(), "nothing changed");
        let first_cert = reloading.current().1.clone();

        // A certificate written before its key: the pair does not match, the old one stays.
        let other_key = rcgen::KeyPair::generate().unwrap();
        let new_cert =
            rcgen::CertificateParams::new(vec!["two.example".to_owned()]).unwrap().self_signed(&other_key).unwrap();
        std::fs::write(&files.cert, new_cert.pem()).unwrap();
        let err = reloading.reload_if_changed().unwrap_err();
        assert!(err.contains("cert.pem"), "{err}");
        assert_eq!(reloading.current().1, first_cert, "the old pair keeps serving");

        // The key arrives: the next check builds the new pair.
        std::fs::write(&files.key, other_key.serialize_pem()).unwrap();
        assert!(reloading.reload_if_changed().unwrap());
        assert_eq!(reloading.current().1, new_cert.pem().into_bytes());
        assert!(!reloading.reload_if_changed().unwrap(), "built once per change");
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn a_certificate_names_the_members_whose_host_is_in_its_alternative_names() {
        let key = rcgen::KeyPair::generate().unwrap();
        let names = vec!["127.0.0.11".to_owned(), "lockd-0.lockd".to_owned()];
        let cert = rcgen::CertificateParams::new(names).unwrap().self_signed(&key).unwrap();
        let certificates = PeerCertificates(Arc::new(vec![cert.der().clone()]));
        let members = [
            (1, "127.0.0.11:9081".to_owned()),
            (2, "127.0.0.12:9081".to_owned()),
            (3, "lockd-0.lockd:9081".to_owned()),
            (4, "lockd-0.lockd.evil:9081".to_owned()),
            (5, "[::1]:9081".to_owned()),
        ];
        assert_eq!(certificates.members_named(&members), BTreeSet::from([1, 3]));
        assert!(PeerCertificates(Arc::new(Vec::new())).members_named(&members).is_empty());
        assert_eq!(host_of("[::1]:9081"), "::1");
        assert_eq!(host_of("lockd-0.lockd:9081"), "lockd-0.lockd");
    }

    #[test]
    fn missing_or_empty_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles { cert: dir.path().join("none.pem"), key: dir.path().join("none.key"), ca: None };
        assert!(server_config(&files).unwrap_err().contains("none.pem"));
        std::fs::write(dir.path().join("empty.pem"), "").unwrap();
        assert!(read_certs(&dir.path().join("empty.pem")).unwrap_err().contains("no certificate"));
    }
}
