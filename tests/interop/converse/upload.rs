//! Issue 21: an image sent with Converse.js's file button goes through http_file_share
//! and loads in the recipient's Converse.js; over-limit and over-quota files are refused
//! with Prosody's errors.

use super::runner;

const SIZE_LIMIT: u32 = 2000;
const DAILY_QUOTA: u32 = 1000;

#[test]
fn converse_uploads_an_image_the_recipient_loads_and_limits_are_refused() {
    if !runner::ready(&[]) {
        return;
    }
    let _one_browser = runner::browser_lock();
    let upload = format!(
        "    http_file_share_size_limit = {SIZE_LIMIT}\n    http_file_share_daily_quota = {DAILY_QUOTA}"
    );
    let server = runner::start(&runner::config(&[], "", &upload), &["alice", "bob"]);
    let run = runner::scenario(
        &server,
        "upload.mjs",
        "converse upload",
        &[
            ("LILT_UPLOAD", format!("upload.{}", runner::DOMAIN)),
            ("LILT_SIZE_LIMIT", SIZE_LIMIT.to_string()),
            ("LILT_DAILY_QUOTA", DAILY_QUOTA.to_string()),
        ],
    );
    run.step("uploaded");
    let bytes = run.step("downloaded")["bytes"].as_u64().expect("bytes");
    assert_eq!(
        run.step("downloaded")["type"],
        "image/png",
        "{}",
        run.stdout
    );
    run.step("over limit refused");
    run.step("over quota refused");
    // One file kept, where Prosody keeps uploads (the refused ones left nothing behind).
    let dir = server
        .data_path()
        .join("upload%2elocalhost/http_file_share");
    let files: Vec<u64> = std::fs::read_dir(&dir)
        .expect("the component's upload dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .collect();
    assert_eq!(files, vec![bytes], "files in {}", dir.display());
}
