//! Certificate discovery (§8.5) over certificate directories laid out each way Prosody
//! supports, with self-signed certificates made by rcgen.

use std::fs;
use std::path::{Path, PathBuf};

use lilt::net::tls::{
    certs_dir, find_certificate, load_certified_key, CertIndex, CertPaths, CertificateLookup,
    TlsError,
};
use rcgen::{date_time_ymd, CertificateParams, DistinguishedName, DnType, KeyPair};

struct Made {
    cert_pem: String,
    key_pem: String,
}

/// A self-signed certificate for `names` (first name also the CN); `expired` puts its
/// validity in 2000.
fn make_cert(names: &[&str], expired: bool) -> Made {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, names[0]);
    params.distinguished_name = dn;
    if expired {
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(2000, 12, 31);
    }
    let cert = params.self_signed(&key).unwrap();
    Made {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn write(path: &Path, text: &str) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// Writes a certificate and its key at the given paths (relative to `dir`).
fn install(dir: &Path, cert: &str, key: &str, made: &Made) -> CertPaths {
    CertPaths {
        cert: write(&dir.join(cert), &made.cert_pem),
        key: write(&dir.join(key), &made.key_pem),
    }
}

fn no_index(dir: &Path) -> CertificateLookup {
    CertificateLookup::with_index(dir, CertIndex::default())
}

#[test]
fn host_crt_and_key_in_certs_dir_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let want = install(
        tmp.path(),
        "a.example.crt",
        "a.example.key",
        &make_cert(&["a.example"], false),
    );
    assert_eq!(find_certificate(tmp.path(), "a.example"), Some(want));
    assert_eq!(find_certificate(tmp.path(), "b.example"), None);
}

#[test]
fn file_layouts_are_tried_crt_then_fullchain_dir_then_combined_pem() {
    let tmp = tempfile::tempdir().unwrap();
    let made = make_cert(&["e.example"], false);
    let crt = install(tmp.path(), "e.example.crt", "e.example.key", &made);
    let chain = install(
        tmp.path(),
        "e.example/fullchain.pem",
        "e.example/privkey.pem",
        &made,
    );
    let pem = write(
        &tmp.path().join("e.example.pem"),
        &format!("{}{}", made.cert_pem, made.key_pem),
    );
    let lookup = no_index(tmp.path());
    let find = || lookup.find_host_cert("e.example", &|_| None);
    assert_eq!(find(), Some(crt.clone()));
    fs::remove_file(&crt.key).unwrap();
    assert_eq!(
        find(),
        Some(chain.clone()),
        "a .crt without its .key is skipped"
    );
    fs::remove_file(&chain.cert).unwrap();
    assert_eq!(
        find(),
        Some(CertPaths {
            cert: pem.clone(),
            key: pem.clone()
        })
    );
    // The combined file really holds both halves.
    load_certified_key(&CertPaths {
        cert: pem.clone(),
        key: pem,
    })
    .unwrap();
}

#[test]
fn parent_domain_certificate_serves_subdomains() {
    let tmp = tempfile::tempdir().unwrap();
    let want = install(
        tmp.path(),
        "f.example.crt",
        "f.example.key",
        &make_cert(&["f.example"], false),
    );
    let lookup = no_index(tmp.path());
    assert_eq!(
        lookup.find_host_cert("conference.f.example", &|_| None),
        Some(want)
    );
}

#[test]
fn index_entry_beats_file_layout_named_after_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    // Named after d.example but valid for another name: only the file layout finds it.
    install(
        tmp.path(),
        "d.example.crt",
        "d.example.key",
        &make_cert(&["other.example"], false),
    );
    let indexed = install(
        tmp.path(),
        "le/d/fullchain.pem",
        "le/d/privkey.pem",
        &make_cert(&["d.example"], false),
    );
    assert_eq!(find_certificate(tmp.path(), "d.example"), Some(indexed));
}

#[test]
fn wildcard_certificate_in_nested_directory_serves_subdomains_via_index() {
    let tmp = tempfile::tempdir().unwrap();
    let want = install(
        tmp.path(),
        "letsencrypt/live/wild/fullchain.pem",
        "letsencrypt/live/wild/privkey.pem",
        &make_cert(&["*.example.net"], false),
    );
    let index = CertIndex::build(tmp.path());
    assert_eq!(index.get("*.example.net"), Some(&want));
    assert_eq!(find_certificate(tmp.path(), "chat.example.net"), Some(want));
    // A wildcard does not cover the bare domain.
    assert_eq!(find_certificate(tmp.path(), "example.net"), None);
}

#[test]
fn index_searches_three_directory_levels_and_no_deeper() {
    let tmp = tempfile::tempdir().unwrap();
    install(
        tmp.path(),
        "1/2/3/ok.crt",
        "1/2/3/ok.key",
        &make_cert(&["deep.example"], false),
    );
    install(
        tmp.path(),
        "1/2/3/4/no.crt",
        "1/2/3/4/no.key",
        &make_cert(&["deeper.example"], false),
    );
    let index = CertIndex::build(tmp.path());
    assert!(index.get("deep.example").is_some());
    assert!(index.get("deeper.example").is_none());
}

#[test]
fn expired_certificate_is_not_indexed_and_valid_one_wins() {
    let tmp = tempfile::tempdir().unwrap();
    install(
        tmp.path(),
        "a/fullchain.pem",
        "a/privkey.pem",
        &make_cert(&["old.example"], true),
    );
    assert_eq!(find_certificate(tmp.path(), "old.example"), None);
    let fresh = install(
        tmp.path(),
        "b/fullchain.pem",
        "b/privkey.pem",
        &make_cert(&["old.example"], false),
    );
    assert_eq!(find_certificate(tmp.path(), "old.example"), Some(fresh));
}

#[test]
fn of_two_valid_certificates_for_a_name_the_longer_lived_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let short = {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["two.example".to_string()]).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.not_after = date_time_ymd(2090, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        Made {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    };
    // "a" sorts first, so path order alone would pick the short-lived one.
    install(tmp.path(), "a/fullchain.pem", "a/privkey.pem", &short);
    let long = install(
        tmp.path(),
        "b/fullchain.pem",
        "b/privkey.pem",
        &make_cert(&["two.example"], false),
    );
    assert_eq!(find_certificate(tmp.path(), "two.example"), Some(long));
}

#[test]
fn certificate_without_key_or_without_pem_header_is_not_indexed() {
    let tmp = tempfile::tempdir().unwrap();
    let made = make_cert(&["nokey.example"], false);
    write(&tmp.path().join("x/fullchain.pem"), &made.cert_pem);
    let other = make_cert(&["junk.example"], false);
    install(
        tmp.path(),
        "y/junk.crt",
        "y/junk.key",
        &Made {
            cert_pem: format!("junk\n{}", other.cert_pem),
            ..other
        },
    );
    let index = CertIndex::build(tmp.path());
    assert!(
        index.is_empty(),
        "indexed: {:?}",
        index.names().collect::<Vec<_>>()
    );
}

#[test]
fn host_certificate_option_file_or_directory_replaces_certs_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let other = tmp.path().join("other");
    install(
        &certs,
        "g.example.crt",
        "g.example.key",
        &make_cert(&["g.example"], false),
    );
    let in_other = install(
        &other,
        "g.example/fullchain.pem",
        "g.example/privkey.pem",
        &make_cert(&["g.example"], false),
    );
    let single = install(
        &other,
        "single.crt",
        "single.key",
        &make_cert(&["g.example"], false),
    );
    let lookup = no_index(&certs);
    let dir_opt = other.clone();
    assert_eq!(
        lookup.find_host_cert("g.example", &|_| Some(dir_opt.clone())),
        Some(in_other)
    );
    let file_opt = single.cert.clone();
    assert_eq!(
        lookup.find_host_cert("g.example", &|_| Some(file_opt.clone())),
        Some(single)
    );
}

#[test]
fn service_certificate_comes_from_index_else_option_else_service_named_files() {
    let tmp = tempfile::tempdir().unwrap();
    let named = install(
        tmp.path(),
        "https.crt",
        "https.key",
        &make_cert(&["localhost"], true),
    );
    let lookup = no_index(tmp.path());
    assert_eq!(lookup.find_service_cert("https", None), Some(named));
    let opt = install(
        tmp.path(),
        "svc/x.crt",
        "svc/x.key",
        &make_cert(&["x.example"], true),
    );
    assert_eq!(
        lookup.find_service_cert("https", Some(&opt.cert)),
        Some(opt)
    );
    let indexed = install(
        tmp.path(),
        "h/fullchain.pem",
        "h/privkey.pem",
        &make_cert(&["h.example"], false),
    );
    let lookup = CertificateLookup::new(tmp.path());
    assert_eq!(lookup.find_service_cert("https", None), Some(indexed));
}

#[test]
fn load_errors_name_the_file_at_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let a = make_cert(&["a.example"], false);
    let b = make_cert(&["b.example"], false);
    let cert = write(&tmp.path().join("a.crt"), &a.cert_pem);
    let no_key = write(&tmp.path().join("a.key"), "not a key\n");
    let err = load_certified_key(&CertPaths {
        cert: cert.clone(),
        key: no_key.clone(),
    })
    .unwrap_err();
    assert!(matches!(err, TlsError::NoPrivateKey { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "key file {}: no private key found (encrypted keys are not supported)",
            no_key.display()
        )
    );
    let wrong_key = write(&tmp.path().join("b.key"), &b.key_pem);
    let err = load_certified_key(&CertPaths {
        cert: cert.clone(),
        key: wrong_key,
    })
    .unwrap_err();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err}");
    let missing = tmp.path().join("missing.crt");
    let err = load_certified_key(&CertPaths {
        cert: missing.clone(),
        key: no_key,
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())),
        "{err}"
    );
}

#[test]
fn certificates_option_defaults_to_certs_beside_the_config() {
    let config_dir = Path::new("/etc/prosody");
    assert_eq!(
        certs_dir(config_dir, None),
        PathBuf::from("/etc/prosody/certs")
    );
    assert_eq!(
        certs_dir(config_dir, Some("tls")),
        PathBuf::from("/etc/prosody/tls")
    );
    assert_eq!(
        certs_dir(config_dir, Some("/srv/certs")),
        PathBuf::from("/srv/certs")
    );
}
