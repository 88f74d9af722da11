//! The simulator over loopback, with a real HTTP client: triggers, readiness,
//! downloads with ranges, callbacks, expiry, errors and every fault knob.

use std::collections::BTreeSet;
use std::io::{Cursor, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use brazex_sim::server::{DownloadFault, SimEvent};
use brazex_sim::{
    write_zip, Faults, FieldSet, GeneratorConfig, RunningSim, SegmentConfig, SimConfig, Simulator,
    UserGenerator,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOCAL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// A config with small segments and short delays.
fn config(dir: &tempfile::TempDir) -> SimConfig {
    let mut c = SimConfig::new(dir.path());
    c.segments = vec![
        SegmentConfig::new("multi", 23, 7),
        SegmentConfig::new("medium", 60, 7),
        SegmentConfig::new("pop", 150, 7),
        SegmentConfig::new("pop-us", 150, 7).us_only(),
        SegmentConfig::new("empty", 0, 7),
    ];
    c.control_group = SegmentConfig::new("global_control_group", 12, 8);
    c.users_per_entry = 5;
    c.ready_after = Duration::from_millis(100);
    c
}

async fn start(config: SimConfig) -> RunningSim {
    Simulator::start(config, LOCAL).await.expect("simulator")
}

fn client() -> Client {
    // No proxy: the environment must not redirect loopback traffic.
    Client::builder().no_proxy().build().expect("client")
}

async fn trigger(sim: &RunningSim, body: Value) -> Response {
    trigger_at(sim, "/users/export/segment", sim.api_key(), body).await
}

async fn trigger_at(sim: &RunningSim, path: &str, key: &str, body: Value) -> Response {
    client()
        .post(format!("{}{path}", sim.endpoint()))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("trigger sent")
}

async fn json_of(resp: Response) -> Value {
    resp.json().await.expect("JSON body")
}

/// Triggers an export and returns its URL.
async fn export_url(sim: &RunningSim, body: Value) -> String {
    let resp = trigger(sim, body).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v = json_of(resp).await;
    v["url"].as_str().expect("url").to_owned()
}

/// Polls `url` with one-byte ranged GETs until it is ready.
async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let resp = client()
            .get(url)
            .header("Range", "bytes=0-0")
            .send()
            .await
            .expect("poll");
        match resp.status() {
            StatusCode::PARTIAL_CONTENT | StatusCode::OK => return,
            StatusCode::FORBIDDEN => {}
            other => panic!("unexpected status while waiting: {other}"),
        }
        assert!(Instant::now() < deadline, "export never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn get(url: &str, range: Option<&str>) -> Response {
    let mut req = client().get(url);
    if let Some(r) = range {
        req = req.header("Range", r);
    }
    req.send().await.expect("GET")
}

/// Reads a body chunk by chunk; returns the bytes and whether it ended in
/// an error (a dropped connection).
async fn read_body(mut resp: Response) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c),
            Ok(None) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
        .to_str()
        .expect("ASCII header")
        .to_owned()
}

fn assert_rate_headers(resp: &Response) {
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        header(resp, h).parse::<u64>().expect("numeric rate header");
    }
}

/// The zip's entries, as text.
fn unzip(bytes: &[u8]) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).expect("entry");
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("entry text");
            text
        })
        .collect()
}

/// The archive the simulator should serve for users `0..users` of `seed`.
fn expected_zip(seed: u64, users: u64, fields: FieldSet, per_entry: u64) -> Vec<u8> {
    let gen = UserGenerator::new(GeneratorConfig { seed, fields });
    let mut out = Cursor::new(Vec::new());
    write_zip(&gen, users, per_entry, &mut out).expect("zip");
    out.into_inner()
}

/// Triggers `segment` with all fields and downloads the archive.
async fn download_segment(sim: &RunningSim, segment: &str) -> (String, Vec<u8>) {
    let url = export_url(
        sim,
        json!({"segment_id": segment, "fields_to_export": ["external_id", "country", "email"]}),
    )
    .await;
    wait_ready(&url).await;
    let (bytes, dropped) = read_body(get(&url, None).await).await;
    assert!(!dropped);
    (url, bytes)
}

#[tokio::test]
async fn happy_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let fields = ["external_id", "email", "country", "random_bucket"];
    let body = json!({
        "segment_id": "multi",
        "fields_to_export": fields,
        "custom_attributes_to_export": ["plan", "is_vip"],
    });
    let resp = trigger(&sim, body.clone()).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_rate_headers(&resp);
    let v = json_of(resp).await;
    assert_eq!(v["message"], "success");
    let prefix = v["object_prefix"].as_str().expect("object_prefix");
    let url = v["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{}/exports/{prefix}.zip?", sim.endpoint())),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=14400") && url.contains("X-Amz-Signature="));

    // Not ready yet: S3's AccessDenied.
    let resp = get(url, None).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let xml = resp.text().await.expect("xml");
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(xml.contains("<Code>AccessDenied</Code><Message>Access Denied</Message>"));

    wait_ready(url).await;
    let resp = get(url, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-type"), "application/zip");
    assert_eq!(header(&resp, "accept-ranges"), "bytes");
    let len: usize = header(&resp, "content-length").parse().expect("length");
    let bytes = resp.bytes().await.expect("body").to_vec();
    assert_eq!(bytes.len(), len);

    let entries = unzip(&bytes);
    assert_eq!(entries.len(), 5, "23 users, 5 per entry");
    let allowed: BTreeSet<&str> = fields
        .iter()
        .copied()
        .chain(["custom_attributes"])
        .collect();
    let mut users = 0;
    for line in entries.iter().flat_map(|e| e.lines()) {
        let user: Value = serde_json::from_str(line).expect("NDJSON line");
        let obj = user.as_object().expect("object");
        for key in obj.keys() {
            assert!(allowed.contains(key.as_str()), "unexpected field {key}");
        }
        if let Some(custom) = obj.get("custom_attributes") {
            for key in custom.as_object().expect("object").keys() {
                assert!(key == "plan" || key == "is_vip", "custom attribute {key}");
            }
        }
        users += 1;
    }
    assert_eq!(users, 23);

    // Exactly the generator's archive, and the spool file.
    let fs = FieldSet::from_export_request(fields, ["plan", "is_vip"]).expect("fields");
    assert_eq!(bytes, expected_zip(7, 23, fs, 5));
    let spool = sim.export_file(prefix).expect("spool file");
    assert_eq!(std::fs::read(spool).expect("spool"), bytes);

    // The log has the trigger's body and the downloads.
    let triggers = sim.triggers();
    assert_eq!(triggers.len(), 1);
    assert_eq!(triggers[0].path, "/users/export/segment");
    assert_eq!(triggers[0].body.as_ref(), Some(&body));
    assert_eq!(triggers[0].status, 201);
    assert_eq!(triggers[0].object_prefix.as_deref(), Some(prefix));
    let downloads = sim.downloads();
    assert_eq!(downloads[0].status, 403);
    assert_eq!(downloads[0].error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(downloads.last().map(|d| d.status), Some(200));
    assert!(downloads
        .iter()
        .any(|d| d.range.as_deref() == Some("bytes=0-0")));

    // Ready: a new export of the segment may start, with the same bytes.
    let (_, again) = download_segment(&sim, "multi").await;
    let fs = FieldSet::from_export_request(["external_id", "country", "email"], [""; 0])
        .expect("fields");
    assert_eq!(again, expected_zip(7, 23, fs, 5));
    sim.shutdown();
}

#[tokio::test]
async fn custom_attributes_field_exports_all_and_empty_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let url = export_url(
        &sim,
        json!({"segment_id": "medium", "fields_to_export": ["custom_attributes"],
               "custom_attributes_to_export": ["plan"], "output_format": "zip"}),
    )
    .await;
    wait_ready(&url).await;
    let bytes = get(&url, None).await.bytes().await.expect("body");
    let fs = FieldSet::from_export_request(["custom_attributes"], [""; 0]).expect("fields");
    assert_eq!(bytes.to_vec(), expected_zip(7, 60, fs, 5));

    let (_, empty) = download_segment(&sim, "empty").await;
    assert!(unzip(&empty).is_empty());
}

#[tokio::test]
async fn ranges_head_and_416() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let (url, whole) = download_segment(&sim, "medium").await;
    let total = whole.len();
    assert!(total > 1000);

    let resp = get(&url, Some("bytes=100-")).await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&resp, "content-range"),
        format!("bytes 100-{}/{total}", total - 1)
    );
    assert_eq!(header(&resp, "content-length"), (total - 100).to_string());
    assert_eq!(resp.bytes().await.expect("body"), whole[100..]);

    let resp = get(&url, Some("bytes=10-19")).await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&resp, "content-range"),
        format!("bytes 10-19/{total}")
    );
    assert_eq!(resp.bytes().await.expect("body"), whole[10..20]);

    let resp = get(&url, Some("bytes=-7")).await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(resp.bytes().await.expect("body"), whole[total - 7..]);

    let resp = get(&url, Some(&format!("bytes={total}-"))).await;
    assert_eq!(resp.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&resp, "content-range"), format!("bytes */{total}"));
    assert!(resp
        .text()
        .await
        .expect("xml")
        .contains("<Code>InvalidRange</Code>"));

    let resp = client().head(&url).send().await.expect("HEAD");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(header(&resp, "content-length"), total.to_string());
    assert_eq!(header(&resp, "accept-ranges"), "bytes");
    assert!(resp.bytes().await.expect("body").is_empty());

    // S3 does not say whether an object exists, and checks the signature.
    let (base, _) = url.split_once('?').expect("query");
    for (u, code) in [
        (base.to_owned(), "AccessDenied"),
        (
            format!("{}/exports/nope.zip?X-Amz-Signature=00", sim.endpoint()),
            "AccessDenied",
        ),
        (
            format!("{base}?X-Amz-Signature=00"),
            "SignatureDoesNotMatch",
        ),
    ] {
        let resp = get(&u, None).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{u}");
        let xml = resp.text().await.expect("xml");
        assert!(xml.contains(&format!("<Code>{code}</Code>")), "{u}: {xml}");
    }
}

#[tokio::test]
async fn bad_key_is_401_with_rate_headers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let body = json!({"segment_id": "multi", "fields_to_export": ["email"]});
    let resp = trigger_at(&sim, "/users/export/segment", "wrong-key", body.clone()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_rate_headers(&resp);
    let v = json_of(resp).await;
    assert_eq!(v["message"], "Invalid API Key");
    assert!(v["errors"].is_array());

    let resp = client()
        .post(format!("{}/users/export/segment", sim.endpoint()))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The key is never logged, in any form.
    assert!(!format!("{:?}", sim.log()).contains(sim.api_key()));
    assert!(!format!("{sim:?}").contains(sim.api_key()));
}

#[tokio::test]
async fn invalid_bodies_are_400() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let many: Vec<String> = (0..501).map(|i| format!("attr{i}")).collect();
    let cases = [
        (
            json!({"segment_id": "multi"}),
            "fields_to_export is required",
        ),
        (
            json!({"segment_id": "multi", "fields_to_export": ["email", "nope", "bad"]}),
            "invalid fields: nope, bad",
        ),
        (
            json!({"segment_id": "multi", "fields_to_export": ["email"],
                   "custom_attributes_to_export": many}),
            "at most 500",
        ),
        (
            json!({"segment_id": "no-such", "fields_to_export": ["email"]}),
            "unknown segment",
        ),
        (
            json!({"fields_to_export": ["email"]}),
            "segment_id is required",
        ),
        (
            json!({"segment_id": "multi", "fields_to_export": ["email"], "output_format": "csv"}),
            "output_format",
        ),
        (
            json!({"segment_id": "multi", "fields_to_export": "email"}),
            "array of strings",
        ),
        (
            json!({"segment_id": "multi", "fields_to_export": ["email"], "callback_endpoint": 3}),
            "callback_endpoint",
        ),
        (json!([1, 2]), "JSON object"),
    ];
    for (body, needle) in cases {
        let resp = trigger(&sim, body.clone()).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_rate_headers(&resp);
        let v = json_of(resp).await;
        let message = v["message"].as_str().expect("message");
        assert!(message.contains(needle), "{body}: {message}");
        assert!(v["errors"].as_array().is_some_and(|e| !e.is_empty()));
    }
    let resp = client()
        .post(format!("{}/users/export/segment", sim.endpoint()))
        .bearer_auth(sim.api_key())
        .body("not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(sim.triggers().iter().all(|t| t.object_prefix.is_none()));

    let resp = client()
        .get(format!("{}/users/export/segment", sim.endpoint()))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let resp = client()
        .get(format!("{}/nope", sim.endpoint()))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn second_export_of_a_running_segment_is_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.ready_after = Duration::from_millis(700);
    let sim = start(c).await;
    let body = json!({"segment_id": "multi", "fields_to_export": ["email"]});
    let first = trigger(&sim, body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = trigger(&sim, body.clone()).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_rate_headers(&second);
    let v = json_of(second).await;
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("already running")),
        "{v}"
    );
    // Another segment is fine.
    let other = trigger(
        &sim,
        json!({"segment_id": "medium", "fields_to_export": ["email"]}),
    )
    .await;
    assert_eq!(other.status(), StatusCode::CREATED);
    // Once the first is ready, the segment can be exported again.
    let url = json_of(first).await["url"]
        .as_str()
        .expect("url")
        .to_owned();
    wait_ready(&url).await;
    assert_eq!(trigger(&sim, body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn rate_limit_counts_down_and_runs_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.rate_limit_per_hour = 2;
    let sim = start(c).await;
    let body = json!({"segment_id": "nope", "fields_to_export": ["email"]});
    let r1 = trigger(&sim, body.clone()).await;
    assert_eq!(header(&r1, "x-ratelimit-limit"), "2");
    assert_eq!(header(&r1, "x-ratelimit-remaining"), "1");
    let reset: u64 = header(&r1, "x-ratelimit-reset").parse().expect("reset");
    assert_eq!(reset % 3600, 0, "resets on the hour");
    let r2 = trigger(&sim, body.clone()).await;
    assert_eq!(header(&r2, "x-ratelimit-remaining"), "0");
    let r3 = trigger(&sim, body).await;
    assert_eq!(r3.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r3, "x-ratelimit-remaining"), "0");
}

/// Accepts one HTTP request on `listener`, answers `status`, returns the
/// request's head and body.
async fn accept_one(listener: &tokio::net::TcpListener, status: u16) -> (String, String) {
    let (mut stream, _) = listener.accept().await.expect("accept");
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.expect("read");
        assert!(n > 0, "request ended early");
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= len {
                let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                stream.write_all(reply.as_bytes()).await.expect("reply");
                return (head.to_owned(), body.to_owned());
            }
        }
    }
}

#[tokio::test]
async fn callback_is_posted_when_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let listener = tokio::net::TcpListener::bind(LOCAL).await.expect("bind");
    let hook = format!("http://{}/braze/done", listener.local_addr().expect("addr"));
    let triggered = Instant::now();
    let url = export_url(
        &sim,
        json!({"segment_id": "multi", "fields_to_export": ["email"], "callback_endpoint": hook}),
    )
    .await;
    let (head, body) = tokio::time::timeout(Duration::from_secs(5), accept_one(&listener, 200))
        .await
        .expect("callback within 5 s");
    assert!(triggered.elapsed() >= Duration::from_millis(100));
    assert!(head.starts_with("POST /braze/done HTTP/1.1\r\n"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    let v: Value = serde_json::from_str(&body).expect("JSON callback");
    assert_eq!(v, json!({"success": true, "url": url}));
    // Ready by the time the callback arrives.
    assert_eq!(get(&url, None).await.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(2);
    while sim.callbacks().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let callbacks = sim.callbacks();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].outcome, Ok(200));
}

#[tokio::test]
async fn failed_callback_is_retried_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let listener = tokio::net::TcpListener::bind(LOCAL).await.expect("bind");
    let hook = format!("http://{}/", listener.local_addr().expect("addr"));
    export_url(
        &sim,
        json!({"segment_id": "multi", "fields_to_export": ["email"], "callback_endpoint": hook}),
    )
    .await;
    let wait = Duration::from_secs(5);
    tokio::time::timeout(wait, accept_one(&listener, 500))
        .await
        .expect("first attempt");
    tokio::time::timeout(wait, accept_one(&listener, 204))
        .await
        .expect("retry");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let outcomes: Vec<_> = sim
        .callbacks()
        .into_iter()
        .map(|c| (c.attempt, c.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [(1, Err("answered HTTP 500".to_owned())), (2, Ok(204))]
    );
}

#[tokio::test]
async fn link_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.ready_after = Duration::from_millis(50);
    c.ttl = Duration::from_millis(400);
    let sim = start(c).await;
    let resp = trigger(
        &sim,
        json!({"segment_id": "multi", "fields_to_export": ["email"]}),
    )
    .await;
    let v = json_of(resp).await;
    let url = v["url"].as_str().expect("url");
    let prefix = v["object_prefix"].as_str().expect("prefix");
    assert!(url.contains("X-Amz-Expires=0"));
    wait_ready(url).await;
    let spool = sim.export_file(prefix).expect("spool file while ready");
    assert_eq!(get(url, None).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resp = get(url, None).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let xml = resp.text().await.expect("xml");
    assert!(xml.contains("<Code>ExpiredToken</Code>"), "{xml}");
    assert!(xml.contains("The provided token has expired."));
    assert!(sim.export_file(prefix).is_none());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!spool.exists(), "expired exports are deleted");
}

#[tokio::test]
async fn drop_fault_cuts_bodies_and_resume_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.faults = Faults {
        drop_after_bytes: Some(1000),
        drop_times: 2,
        ..Faults::default()
    };
    let sim = start(c).await;
    let url = export_url(
        &sim,
        json!({"segment_id": "medium", "fields_to_export": ["email", "devices"]}),
    )
    .await;
    // One-byte probes do not pass the drop point and do not use up a drop.
    wait_ready(&url).await;
    let (first, dropped) = read_body(get(&url, None).await).await;
    assert!(dropped, "the first download is cut");
    assert_eq!(first.len(), 1000);
    let resp = get(&url, Some("bytes=1000-")).await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    let (second, dropped) = read_body(resp).await;
    assert!(dropped, "the second download is cut too");
    assert_eq!(second.len(), 1000);
    let (rest, dropped) = read_body(get(&url, Some("bytes=2000-")).await).await;
    assert!(!dropped, "K = 2: the third is whole");
    let all: Vec<u8> = [first, second, rest].concat();
    let fs = FieldSet::from_export_request(["email", "devices"], [""; 0]).expect("fields");
    assert_eq!(all, expected_zip(7, 60, fs, 5));
    let faults: Vec<_> = sim.downloads().into_iter().flat_map(|d| d.faults).collect();
    assert_eq!(faults, [DownloadFault::Drop { after: 1000 }; 2]);
}

#[tokio::test]
async fn stall_fault_pauses_the_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.faults = Faults {
        stall_after_bytes: Some(1500),
        stall_times: 1,
        stall_for: Duration::from_millis(400),
        ..Faults::default()
    };
    let sim = start(c).await;
    let (url, _) = {
        // download_segment would hit the stall itself; trigger by hand.
        let url = export_url(
            &sim,
            json!({"segment_id": "medium", "fields_to_export": ["email", "devices"]}),
        )
        .await;
        wait_ready(&url).await;
        (url, ())
    };
    let mut resp = get(&url, None).await;
    let mut got = 0usize;
    let mut longest_gap = Duration::ZERO;
    let mut gap_at = 0;
    let mut last = Instant::now();
    while let Some(chunk) = resp.chunk().await.expect("no drop") {
        let gap = last.elapsed();
        if gap > longest_gap {
            longest_gap = gap;
            gap_at = got;
        }
        got += chunk.len();
        last = Instant::now();
    }
    assert!(longest_gap >= Duration::from_millis(350), "{longest_gap:?}");
    assert_eq!(gap_at, 1500, "the pause comes after exactly 1500 bytes");
    // Only once.
    let start = Instant::now();
    let (again, dropped) = read_body(get(&url, None).await).await;
    assert!(!dropped && again.len() == got);
    assert!(start.elapsed() < Duration::from_millis(350));
}

#[tokio::test]
async fn trigger_5xx_then_success() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.faults.trigger_5xx_first = 2;
    let sim = start(c).await;
    let body = json!({"segment_id": "multi", "fields_to_export": ["email"]});
    for _ in 0..2 {
        let resp = trigger(&sim, body.clone()).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_rate_headers(&resp);
        let v = json_of(resp).await;
        assert!(v["message"].is_string() && v["errors"].is_array());
    }
    assert_eq!(trigger(&sim, body).await.status(), StatusCode::CREATED);
    let statuses: Vec<u16> = sim.triggers().iter().map(|t| t.status).collect();
    assert_eq!(statuses, [503, 503, 201]);
}

#[tokio::test]
async fn trigger_429_with_reset_then_success() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.faults.trigger_429_first = 1;
    c.faults.rate_limit_reset_secs = 30;
    let sim = start(c).await;
    let body = json!({"segment_id": "multi", "fields_to_export": ["email"]});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let resp = trigger(&sim, body.clone()).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&resp, "x-ratelimit-remaining"), "0");
    let reset: u64 = header(&resp, "x-ratelimit-reset").parse().expect("reset");
    assert!((now + 29..=now + 32).contains(&reset), "{reset} vs {now}");
    assert_eq!(trigger(&sim, body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn ignore_range_answers_200_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.faults.ignore_range = true;
    let sim = start(c).await;
    let (url, whole) = download_segment(&sim, "medium").await;
    let resp = get(&url, Some("bytes=100-")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("content-range").is_none());
    assert_eq!(resp.bytes().await.expect("body"), whole);
}

#[tokio::test]
async fn fail_exports_never_become_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(&dir);
    c.faults.fail_exports = true;
    c.ready_after = Duration::from_millis(10);
    let sim = start(c).await;
    let body = json!({"segment_id": "multi", "fields_to_export": ["email"]});
    let url = export_url(&sim, body.clone()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = get(&url, Some("bytes=0-0")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // A failed export does not block the segment.
    assert_eq!(trigger(&sim, body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn global_control_group_and_us_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = start(config(&dir)).await;
    let resp = trigger_at(
        &sim,
        "/users/export/global_control_group",
        sim.api_key(),
        json!({"fields_to_export": ["external_id"]}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let url = json_of(resp).await["url"].as_str().expect("url").to_owned();
    wait_ready(&url).await;
    let bytes = get(&url, None).await.bytes().await.expect("body");
    let fs = FieldSet::from_export_request(["external_id"], [""; 0]).expect("fields");
    assert_eq!(bytes.to_vec(), expected_zip(8, 12, fs, 5));

    // us-only: exactly the US users of the same population, in order.
    let (_, pop) = download_segment(&sim, "pop").await;
    let (_, us) = download_segment(&sim, "pop-us").await;
    let lines = |zip: &[u8]| -> Vec<String> {
        unzip(zip)
            .iter()
            .flat_map(|e| e.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    };
    let expected: Vec<String> = lines(&pop)
        .into_iter()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            v["country"] == "US"
        })
        .collect();
    let us_lines = lines(&us);
    assert!(!us_lines.is_empty());
    assert_eq!(us_lines, expected);
    let entries = unzip(&us);
    assert_eq!(entries.len(), us_lines.len().div_ceil(5));
}

/// One blocking HTTP/1.1 request over a std `TcpStream`; returns the status
/// line and the whole response.
fn blocking_request(addr: SocketAddr, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(request.as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn spawn_background_serves_blocking_callers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::spawn_background(config(&dir)).expect("simulator");
    assert!(sim.endpoint().starts_with("http://127.0.0.1:"));
    let body = r#"{"segment_id":"multi","fields_to_export":["email"]}"#;
    let request = |key: &str| {
        format!(
            "POST /users/export/segment HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let answer = blocking_request(sim.addr(), &request("bad"));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let answer = blocking_request(sim.addr(), &request(sim.api_key()));
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(matches!(
        sim.log().as_slice(),
        [SimEvent::Trigger(_), SimEvent::Trigger(_)]
    ));
    let addr = sim.addr();
    sim.shutdown();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens after shutdown"
    );
}

#[test]
fn non_loopback_addresses_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Simulator::spawn_background_on(config(&dir), "0.0.0.0:0".parse().expect("addr"))
        .expect_err("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
    let mut c = config(&dir);
    c.segments.push(SegmentConfig::new("multi", 1, 1));
    assert!(Simulator::spawn_background(c).is_err(), "duplicate ids");
}
