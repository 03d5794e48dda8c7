/// `GET /healthz`: says `ok` and nothing more (no version, no dependencies).
pub async fn healthz() -> &'static str {
    "ok"
}
