//! Where `-o postgres://…` connects, and how: the libpq URI, the libpq environment
//! variables and `~/.pgpass`, and TLS through rustls.
//!
//! tokio-postgres parses the URI and speaks the protocol; it reads no environment
//! and knows `sslmode` only as disable/prefer/require, without certificate checks.
//! This module fills those gaps the way libpq does: `PGHOST`, `PGPORT`, `PGUSER`,
//! `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGPASSFILE`, the
//! password file, and `sslmode=verify-ca|verify-full` with `sslrootcert` (a file, or
//! `system` for the operating system's roots). The password is kept only in the
//! tokio-postgres config, whose `Debug` redacts it; [`PgUrl`] shows the URI without it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::PgError;

/// A `postgres://` or `postgresql://` URI as given to `-o`, password hidden.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    text: String,
}

impl PgUrl {
    /// True when `text` is a PostgreSQL URI.
    pub fn is_pg_url(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }

    pub fn new(text: &str) -> PgUrl {
        PgUrl { text: text.into() }
    }

    /// The URI with its password (in the user info or `password=`) replaced by `***`.
    pub fn redacted(&self) -> String {
        let text = &self.text;
        let (scheme, rest) = text.split_once("://").unwrap_or(("postgres", text));
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let authority = match authority.rsplit_once('@') {
            Some((user, host)) => match user.split_once(':') {
                Some((name, _)) => format!("{name}:***@{host}"),
                None => format!("{user}@{host}"),
            },
            None => authority.to_string(),
        };
        let tail = match tail.split_once('?') {
            Some((path, query)) => {
                let params: Vec<String> = query
                    .split('&')
                    .map(|p| match p.split_once('=') {
                        Some(("password", _)) => "password=***".to_string(),
                        _ => p.to_string(),
                    })
                    .collect();
                format!("{path}?{}", params.join("&"))
            }
            None => tail.to_string(),
        };
        format!("{scheme}://{authority}{tail}")
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.redacted())
    }
}

/// The environment a connection is resolved in (the process's, or a test's).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// How to check the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verify {
    /// `prefer`, or `require` without a root certificate: encrypted, not verified.
    Nothing,
    /// `verify-ca` (and `require` with a root certificate): the chain only.
    Chain(Roots),
    /// `verify-full`: the chain and the host name.
    Full(Roots),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    File(PathBuf),
    System,
}

/// A resolved connection: the tokio-postgres config and the TLS connector.
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    /// What to say in messages: `user@host:port/db`.
    pub shown: String,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("config", &self.config)
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Resolves `url` as libpq would in `env`.
pub fn resolve(url: &PgUrl, env: &dyn Env) -> Result<Connection, PgError> {
    let bad = |message: String| PgError::Config {
        url: url.redacted(),
        message,
    };
    // sslmode and sslrootcert are ours; tokio-postgres gets the rest.
    let (base, query) = match url.text.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url.text.as_str(), ""),
    };
    let mut sslmode = None;
    let mut rootcert = None;
    let mut passed = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        match param.split_once('=') {
            Some(("sslmode", v)) => sslmode = Some(v.to_string()),
            Some(("sslrootcert", v)) => rootcert = Some(percent_decode(v)),
            _ => passed.push(param),
        }
    }
    let text = match passed.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", passed.join("&")),
    };
    let mut config: tokio_postgres::Config = text
        .parse()
        .map_err(|e: tokio_postgres::Error| bad(format!("not a PostgreSQL URI: {e}")))?;
    if config.get_hosts().is_empty() {
        match env.var("PGHOST") {
            Some(host) => {
                for h in host.split(',') {
                    match h.starts_with('/') {
                        true => config.host_path(h),
                        false => config.host(h),
                    };
                }
            }
            None => {
                // libpq's default: the local socket directory.
                let socket = ["/var/run/postgresql", "/tmp"]
                    .into_iter()
                    .find(|d| Path::new(d).is_dir());
                match socket {
                    Some(dir) => config.host_path(dir),
                    None => config.host("localhost"),
                };
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env.var("PGPORT") {
            let port = port
                .parse::<u16>()
                .map_err(|_| bad(format!("PGPORT={port} is not a port")))?;
            config.port(port);
        }
    }
    let port = config.get_ports().first().copied().unwrap_or(5432);
    if config.get_user().is_none() {
        let user = env
            .var("PGUSER")
            .or_else(|| env.var("USER"))
            .or_else(|| env.var("LOGNAME"))
            .ok_or_else(|| bad("no user: give one in the URI or PGUSER".into()))?;
        config.user(user);
    }
    let user = config.get_user().unwrap_or_default().to_string();
    if config.get_dbname().is_none() {
        config.dbname(env.var("PGDATABASE").unwrap_or_else(|| user.clone()));
    }
    let dbname = config.get_dbname().unwrap_or_default().to_string();
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    if config.get_password().is_none() {
        if let Some(password) = env.var("PGPASSWORD") {
            config.password(password);
        } else if let Some(password) = pgpass(env, &host, port, &dbname, &user) {
            config.password(password);
        }
    }
    if config.get_application_name().is_none() {
        config.application_name("brazex");
    }
    let mode = sslmode
        .or_else(|| env.var("PGSSLMODE"))
        .unwrap_or_else(|| "prefer".into());
    let rootcert = rootcert.or_else(|| env.var("PGSSLROOTCERT")).or_else(|| {
        let home = env.var("HOME")?;
        let default = Path::new(&home).join(".postgresql/root.crt");
        default
            .is_file()
            .then(|| default.to_string_lossy().into_owned())
    });
    let roots = rootcert.map(|r| match r.as_str() {
        "system" => Roots::System,
        _ => Roots::File(PathBuf::from(r)),
    });
    let missing_roots = || {
        bad(format!(
            "sslmode={mode} needs a root certificate: give sslrootcert=FILE (or PGSSLROOTCERT, \
             or ~/.postgresql/root.crt), or sslrootcert=system for the system's roots"
        ))
    };
    let (ssl, verify) = match mode.as_str() {
        "disable" => (SslMode::Disable, Verify::Nothing),
        "allow" | "prefer" => (SslMode::Prefer, Verify::Nothing),
        "require" => match roots {
            Some(r) => (SslMode::Require, Verify::Chain(r)),
            None => (SslMode::Require, Verify::Nothing),
        },
        "verify-ca" => (
            SslMode::Require,
            Verify::Chain(roots.ok_or_else(missing_roots)?),
        ),
        "verify-full" => (
            SslMode::Require,
            Verify::Full(roots.ok_or_else(missing_roots)?),
        ),
        other => {
            return Err(bad(format!(
                "sslmode={other}: use disable, allow, prefer, require, verify-ca or verify-full"
            )))
        }
    };
    config.ssl_mode(ssl);
    let tls = MakeRustlsConnect::new(tls_config(verify).map_err(bad)?);
    let shown = match config.get_hosts().first() {
        Some(Host::Unix(_)) => format!("{user}@[{host}]:{port}/{dbname}"),
        _ => format!("{user}@{host}:{port}/{dbname}"),
    };
    Ok(Connection { config, tls, shown })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            if let Some(Ok(b)) = text.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password `~/.pgpass` (or `PGPASSFILE`) has for this connection: the first
/// line `host:port:database:user:password` that matches (`*` matches anything, `\`
/// escapes). As libpq does, a file others can read is ignored, with a warning.
fn pgpass(env: &dyn Env, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let path = match env.var("PGPASSFILE") {
        Some(p) => PathBuf::from(p),
        None => Path::new(&env.var("HOME")?).join(".pgpass"),
    };
    let meta = std::fs::metadata(&path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "password file {} has group or world access; it is ignored (chmod 0600 it)",
                path.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    // libpq matches the default socket directory as "localhost".
    let host = if host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    let port = port.to_string();
    let wanted = [host, port.as_str(), db, user];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() < 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(wanted)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(verify: Verify) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(Lenient {
            chain: None,
            provider: provider(),
        }),
        Verify::Chain(roots) => Arc::new(Lenient {
            chain: Some(webpki(roots)?),
            provider: provider(),
        }),
        Verify::Full(roots) => webpki(roots)?,
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn webpki(roots: Roots) -> Result<Arc<WebPkiServerVerifier>, String> {
    let mut store = RootCertStore::empty();
    match &roots {
        Roots::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
            if store.is_empty() {
                return Err(format!(
                    "sslrootcert {}: no certificate in it",
                    path.display()
                ));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err("sslrootcert=system: the system has no root certificates".into());
            }
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider())
        .build()
        .map_err(|e| format!("TLS: {e}"))
}

/// The modes short of `verify-full`: `prefer` and `require` without a root (the
/// session is encrypted, the certificate not checked: libpq's behaviour) and
/// `verify-ca` (the chain must lead to a root, the name is not checked). The
/// handshake's signatures are always verified.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            // The chain is checked before the name: a name mismatch means a good chain.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Vars(HashMap<&'static str, String>);
    impl Env for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }

    #[test]
    fn the_password_never_shows() {
        let url =
            PgUrl::new("postgres://loader:s3cret@db:5432/analytics?password=other&sslmode=require");
        let shown = format!("{url} {url:?} {}", url.redacted());
        assert!(
            !shown.contains("s3cret") && !shown.contains("other"),
            "{shown}"
        );
        assert!(shown.contains("loader:***@db:5432/analytics"), "{shown}");
        let conn = resolve(&url, &Vars(HashMap::new())).expect("resolves");
        let debug = format!("{conn:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn the_environment_fills_what_the_uri_leaves_out() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pass = dir.path().join("pgpass");
        std::fs::write(
            &pass,
            "# comment\nother:*:*:*:no\ndb.internal:6543:analytics:loader:pa\\:ss\n",
        )
        .expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let env = Vars(HashMap::from([
            ("PGHOST", "db.internal".to_string()),
            ("PGPORT", "6543".to_string()),
            ("PGUSER", "loader".to_string()),
            ("PGDATABASE", "analytics".to_string()),
            ("PGPASSFILE", pass.display().to_string()),
        ]));
        let conn = resolve(&PgUrl::new("postgresql://"), &env).expect("resolves");
        assert_eq!(conn.shown, "loader@db.internal:6543/analytics");
        assert_eq!(conn.config.get_password(), Some(&b"pa:ss"[..]));
        // The URI wins over the environment.
        let conn = resolve(&PgUrl::new("postgres://me@h:1/d"), &env).expect("resolves");
        assert_eq!(conn.shown, "me@h:1/d");
        assert_eq!(conn.config.get_password(), None);
    }

    #[test]
    fn bad_ssl_settings_are_refused_clearly() {
        let env = Vars(HashMap::new());
        let err = resolve(&PgUrl::new("postgres://u@h/d?sslmode=verify-full"), &env)
            .expect_err("no roots");
        assert!(
            err.to_string().contains("needs a root certificate"),
            "{err}"
        );
        let err = resolve(&PgUrl::new("postgres://u@h/d?sslmode=strict"), &env)
            .expect_err("unknown mode");
        assert!(err.to_string().contains("sslmode=strict"), "{err}");
        let err = resolve(
            &PgUrl::new("postgres://u@h/d?sslrootcert=/nonexistent&sslmode=verify-ca"),
            &env,
        )
        .expect_err("no file");
        assert!(err.to_string().contains("/nonexistent"), "{err}");
    }
}
