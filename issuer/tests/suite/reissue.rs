//! Reissuing a licence (换发) over HTTP, on SQLite and PostgreSQL: the new
//! credential keeps the 证照标识 serial with the next version, the previous one
//! is revoked ("superseded by reissue") in the same transaction, a verifier
//! finds it revoked, the chain is found from any version, and reissuing a
//! revoked, superseded or version-999 credential is refused; of two concurrent
//! reissues exactly one wins; with an `Idempotency-Key` a retry (also a
//! concurrent one) gets the same new credential and nothing is reissued twice.
//! Also: VC-API issuance assigns the identifier.

use chrono::Utc;
use serde_json::{json, Value};
use wallet_core::licence_id::LicenceId;
use wallet_core::status::{check_status, StatusListCache, StatusPolicy, StatusPurpose};

use crate::support::postgres;
use crate::support::requests::health_request;

struct App {
    base: String,
    http: reqwest::Client,
    store_url: String,
    _data: tempfile::TempDir,
}

async fn spawn(database_url: Option<String>) -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.database_url = database_url;
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    App { base, http, store_url: settings.store_url(), _data: data }
}

fn uuid_of(vc: &Value) -> String {
    vc["id"].as_str().unwrap().strip_prefix("urn:uuid:").unwrap().to_owned()
}

fn licence_id(vc: &Value) -> LicenceId {
    LicenceId::parse(vc["licenceId"].as_str().expect("a licence id")).unwrap()
}

impl App {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null))
    }

    async fn issue(&self) -> Value {
        let (status, body) = self
            .send(self.http.post(format!("{}/api/v1/health-certificates", self.base)).json(&health_request()))
            .await;
        assert_eq!(status, 201, "{body:#}");
        body["credential"].clone()
    }

    async fn reissue(&self, uuid: &str, corrections: Option<&Value>) -> (u16, Value) {
        let url = format!("{}/api/v1/credentials/{uuid}/reissue", self.base);
        match corrections {
            Some(body) => self.send(self.http.post(url).json(body)).await,
            None => self.send(self.http.post(url)).await,
        }
    }

    /// A reissue with `Idempotency-Key: key`: status, body, and whether the
    /// answer says it is a replay.
    async fn reissue_keyed(&self, uuid: &str, key: &str, corrections: Option<&Value>) -> (u16, Value, bool) {
        let url = format!("{}/api/v1/credentials/{uuid}/reissue", self.base);
        let req = self.http.post(url).header("Idempotency-Key", key);
        let req = match corrections {
            Some(body) => req.json(body),
            None => req,
        };
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let replayed = resp.headers().get("Idempotent-Replayed").is_some_and(|v| v == "true");
        (status, serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null), replayed)
    }

    /// How many entries of each kind the transparency log holds:
    /// (issued, statusChanged).
    async fn log_kinds(&self) -> (usize, usize) {
        let (status, page) = self.send(self.http.get(format!("{}/log/entries?start=0&count=1000", self.base))).await;
        assert_eq!(status, 200, "{page:#}");
        let kinds: Vec<String> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["entry"]["kind"]["type"].as_str().unwrap().to_owned())
            .collect();
        (kinds.iter().filter(|k| *k == "issued").count(), kinds.iter().filter(|k| *k == "statusChanged").count())
    }

    async fn status(&self, uuid: &str) -> Value {
        let (status, body) = self.send(self.http.get(format!("{}/credentials/{uuid}/status", self.base))).await;
        assert_eq!(status, 200, "{body:#}");
        body
    }

    async fn versions(&self, licence_id: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}/api/v1/licence-ids/{licence_id}/versions", self.base))).await
    }

    /// What a verifier concludes about `vc`'s status, from the published lists.
    async fn revocation_check(&self, vc: &Value) -> wallet_core::report::CheckResult {
        let now = Utc::now();
        let mut cache = StatusListCache::new();
        for entry in vc["credentialStatus"].as_array().unwrap() {
            let url = entry["statusListCredential"].as_str().unwrap();
            let list: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
            cache.offer(url, &list, now, now).await.unwrap();
        }
        check_status(vc, &cache, &StatusPolicy::default(), now).0
    }
}

/// Reissue unchanged, then with corrections: same serial, versions 2 and 3,
/// each check character valid; the previous versions revoked with the
/// reissue's reason, which a verifier sees; the chain found from the oldest.
async fn reissue_bumps_the_version_and_revokes_the_previous(app: &App) {
    let first = app.issue().await;
    let first_id = licence_id(&first);
    assert_eq!(first_id.version(), 1);

    let (status, body) = app.reissue(&uuid_of(&first), None).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body["previous"], first["id"]);
    let second = body["credential"].clone();
    let second_id = licence_id(&second);
    assert_eq!((second_id.serial(), second_id.version()), (first_id.serial(), 2));
    assert_eq!((second_id.type_code(), second_id.issuer()), (first_id.type_code(), first_id.issuer()));
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["credentialSubject"], first["credentialSubject"], "unchanged content");
    assert_ne!(second["credentialStatus"], first["credentialStatus"], "its own status entries");
    let report =
        wallet_core::verification::verify_credential(&second, &wallet_core::verification::VerifyOptions::default())
            .await
            .unwrap();
    assert!(report.checks.signature.is_valid() && report.checks.licence_id.is_valid(), "{report:#?}");

    let old = app.status(&uuid_of(&first)).await;
    assert_eq!(old["status"], "revoked", "{old:#}");
    let event = old["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((event["action"].as_str(), event["reason"].as_str()), (Some("revoke"), Some("superseded by reissue")));
    assert_eq!(app.status(&uuid_of(&second)).await["status"], "active");
    assert_eq!(app.revocation_check(&first).await.invalid_code(), Some("revoked"));
    assert!(app.revocation_check(&second).await.is_valid());

    // Corrections: the type's issuance request, checked as an issuance is.
    let mut corrected = health_request();
    corrected["fullNamePinyin"] = json!("OUYANG Xiaoyan Corrected");
    let (status, body) = app.reissue(&uuid_of(&second), Some(&corrected)).await;
    assert_eq!(status, 201, "{body:#}");
    let third = body["credential"].clone();
    assert_eq!(licence_id(&third).version(), 3);
    assert_eq!(licence_id(&third).serial(), first_id.serial());
    assert_ne!(third["credentialSubject"], second["credentialSubject"]);
    let mut invalid = health_request();
    invalid["examinationResult"] = json!("maybe");
    let (status, err) = app.reissue(&uuid_of(&third), Some(&invalid)).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("invalid_fields")), "{err:#}");
    assert_eq!(app.status(&uuid_of(&third)).await["status"], "active", "a refused reissue changes nothing");

    // Superseded versions are refused, naming the current one.
    let (status, err) = app.reissue(&uuid_of(&first), None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("already_superseded")), "{err:#}");
    assert!(err["message"]["en"].as_str().unwrap().contains(&licence_id(&third).to_string()));
    assert!(err["message"]["zh"].as_str().unwrap().contains("换发"));

    // Any version's identifier finds the chain, old to new.
    let (status, chain) = app.versions(&first_id.to_string()).await;
    assert_eq!(status, 200, "{chain:#}");
    let versions = chain["versions"].as_array().unwrap();
    let ids: Vec<&str> = versions.iter().map(|v| v["licenceId"].as_str().unwrap()).collect();
    assert_eq!(ids, [first_id.to_string(), second_id.to_string(), licence_id(&third).to_string()]);
    let states: Vec<&str> = versions.iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(states, ["revoked", "revoked", "active"]);
    assert_eq!(chain["current"].as_str(), Some(licence_id(&third).to_string().as_str()));
    // The old identifier still finds its own (revoked) credential.
    let (status, _) = app.send(app.http.get(format!("{}/api/v1/licence-ids/{first_id}", app.base))).await;
    assert_eq!(status, 200);
    let text = first_id.to_string();
    let (body, check) = text.split_at(text.len() - 1);
    let (status, err) = app.versions(&format!("{body}{}", if check == "0" { "1" } else { "0" })).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("licence_id_check")));
}

#[tokio::test]
async fn reissue_bumps_the_version_and_revokes_the_previous_on_sqlite() {
    reissue_bumps_the_version_and_revokes_the_previous(&spawn(None).await).await;
}

#[tokio::test]
async fn reissue_bumps_the_version_and_revokes_the_previous_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("reissue").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    reissue_bumps_the_version_and_revokes_the_previous(&app).await;
    drop(app);
    database.drop_now().await;
}

/// Two concurrent reissues of one credential: exactly one is saved, the other
/// is refused; one version 2 exists and the original is revoked once.
async fn concurrent_reissues_of_one_credential_save_exactly_one(app: &App) {
    for _ in 0..3 {
        let first = app.issue().await;
        let uuid = uuid_of(&first);
        let (a, b) = tokio::join!(app.reissue(&uuid, None), app.reissue(&uuid, None));
        let mut statuses = [a.0, b.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{a:#?} {b:#?}");
        let loser = if a.0 == 409 { &a.1 } else { &b.1 };
        assert!(["already_superseded", "already_revoked"].contains(&loser["error"].as_str().unwrap()), "{loser:#}");
        let (_, chain) = app.versions(&licence_id(&first).to_string()).await;
        assert_eq!(chain["versions"].as_array().unwrap().len(), 2, "{chain:#}");
        let events = app.status(&uuid).await["events"].as_array().unwrap().len();
        assert_eq!(events, 1, "revoked once");
    }
}

#[tokio::test]
async fn concurrent_reissues_of_one_credential_save_exactly_one_on_sqlite() {
    concurrent_reissues_of_one_credential_save_exactly_one(&spawn(None).await).await;
}

#[tokio::test]
async fn concurrent_reissues_of_one_credential_save_exactly_one_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("reissue_race").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    concurrent_reissues_of_one_credential_save_exactly_one(&app).await;
    drop(app);
    database.drop_now().await;
}

/// A reissue with an `Idempotency-Key`: the retry (with the same body, or `{}`
/// for an empty one) gets the same new credential, marked as a replay, and
/// nothing is signed, revoked or logged again; the key with corrections or on
/// another credential is refused (`idempotency_key_reused`, zh/en) and changes
/// nothing; the key of an issuance is another key; without a key a retry is
/// refused as today.
async fn a_reissue_with_an_idempotency_key_is_done_once(app: &App) {
    let first = app.issue().await;
    let uuid = uuid_of(&first);
    let (issued_before, changed_before) = app.log_kinds().await;

    let (status, answer, replayed) = app.reissue_keyed(&uuid, "reissue-1", None).await;
    assert_eq!((status, replayed), (201, false), "{answer:#}");
    assert_eq!(answer["previous"], first["id"]);
    let second = answer["credential"].clone();
    assert_eq!(licence_id(&second).version(), 2);

    // A client retry after a lost answer: the same answer, with the same credential.
    for retry in [None, Some(json!({}))] {
        let (status, again, replayed) = app.reissue_keyed(&uuid, "reissue-1", retry.as_ref()).await;
        assert_eq!((status, replayed), (201, true), "{again:#}");
        assert_eq!(again, answer, "the first answer, replayed");
    }
    // The key with corrections, or on another credential: refused, nothing done.
    let mut corrected = health_request();
    corrected["fullNamePinyin"] = json!("OUYANG Xiaoyan Corrected");
    let (status, err, _) = app.reissue_keyed(&uuid, "reissue-1", Some(&corrected)).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("idempotency_key_reused")), "{err:#}");
    assert!(err["message"]["zh"].as_str().unwrap().contains("Idempotency-Key"), "{err:#}");
    assert!(err["message"]["en"].as_str().unwrap().contains("different request"), "{err:#}");
    let other = app.issue().await;
    let (status, err, _) = app.reissue_keyed(&uuid_of(&other), "reissue-1", None).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("idempotency_key_reused")), "{err:#}");
    assert_eq!(app.status(&uuid_of(&other)).await["status"], "active", "the other credential is untouched");
    let (_, chain) = app.versions(&licence_id(&other).to_string()).await;
    assert_eq!(chain["versions"].as_array().unwrap().len(), 1, "{chain:#}");

    // One reissue: two versions, the first revoked once, one more `Issued`
    // entry (and the other credential's) and one revocation in the log.
    let (_, chain) = app.versions(&licence_id(&first).to_string()).await;
    let ids: Vec<&str> =
        chain["versions"].as_array().unwrap().iter().map(|v| v["credentialId"].as_str().unwrap()).collect();
    assert_eq!(ids, [first["id"].as_str().unwrap(), second["id"].as_str().unwrap()]);
    assert_eq!(app.status(&uuid).await["events"].as_array().unwrap().len(), 1, "revoked once");
    assert_eq!(app.status(&uuid_of(&second)).await["status"], "active");
    assert_eq!(app.log_kinds().await, (issued_before + 2, changed_before + 1));

    // An issuance key is another key: the same key string issues and reissues.
    let (status, issued) = app
        .send(
            app.http
                .post(format!("{}/api/v1/health-certificates", app.base))
                .header("Idempotency-Key", "shared-key")
                .json(&health_request()),
        )
        .await;
    assert_eq!(status, 201, "{issued:#}");
    let (status, answer, replayed) = app.reissue_keyed(&uuid_of(&issued["credential"]), "shared-key", None).await;
    assert_eq!((status, replayed), (201, false), "{answer:#}");
    // A malformed key is refused before anything is done.
    let (status, err, _) = app.reissue_keyed(&uuid_of(&answer["credential"]), "bad key", None).await;
    assert_eq!((status, err["error"].as_str()), (400, Some("invalid_idempotency_key")), "{err:#}");

    // Without a key, a retry is refused as superseded (today's behaviour).
    let (status, err) = app.reissue(&uuid, None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("already_superseded")), "{err:#}");
}

#[tokio::test]
async fn a_reissue_with_an_idempotency_key_is_done_once_on_sqlite() {
    a_reissue_with_an_idempotency_key_is_done_once(&spawn(None).await).await;
}

#[tokio::test]
async fn a_reissue_with_an_idempotency_key_is_done_once_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("reissue_idem").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    a_reissue_with_an_idempotency_key_is_done_once(&app).await;
    drop(app);
    database.drop_now().await;
}

/// Two concurrent reissues with one key: one reissue, both get its credential
/// (one of them as a replay); the original is revoked once and the log gains
/// one `Issued` entry and one revocation.
async fn concurrent_reissues_with_one_key_reissue_once(app: &App) {
    for round in 0..3 {
        let first = app.issue().await;
        let uuid = uuid_of(&first);
        let (issued_before, changed_before) = app.log_kinds().await;
        let key = format!("race-{round}");
        let (a, b) = tokio::join!(app.reissue_keyed(&uuid, &key, None), app.reissue_keyed(&uuid, &key, None));
        assert_eq!((a.0, b.0), (201, 201), "{a:#?} {b:#?}");
        assert_eq!(a.1, b.1, "one answer");
        assert!(a.2 != b.2, "exactly one is the replay: {} {}", a.2, b.2);
        let (_, chain) = app.versions(&licence_id(&first).to_string()).await;
        assert_eq!(chain["versions"].as_array().unwrap().len(), 2, "{chain:#}");
        assert_eq!(app.status(&uuid).await["events"].as_array().unwrap().len(), 1, "revoked once");
        assert_eq!(app.log_kinds().await, (issued_before + 1, changed_before + 1));
    }
}

#[tokio::test]
async fn concurrent_reissues_with_one_key_reissue_once_on_sqlite() {
    concurrent_reissues_with_one_key_reissue_once(&spawn(None).await).await;
}

#[tokio::test]
async fn concurrent_reissues_with_one_key_reissue_once_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("reissue_idem_race").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    concurrent_reissues_with_one_key_reissue_once(&app).await;
    drop(app);
    database.drop_now().await;
}

/// A revoked credential, a suspended one, an unknown one and one without
/// 证照标识 are refused.
async fn revoked_unknown_and_unidentified_credentials_are_refused(app: &App) {
    let suspended = app.issue().await;
    let (status, body) = app
        .send(
            app.http
                .post(format!("{}/credentials/{}/status", app.base, uuid_of(&suspended)))
                .json(&json!({"action": "suspend", "reason": "under investigation"})),
        )
        .await;
    assert_eq!(status, 200, "{body:#}");
    let (status, err) = app.reissue(&uuid_of(&suspended), None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("suspended")), "{err:#}");
    assert!(err["message"]["zh"].as_str().unwrap().contains("暂停"));
    assert_eq!(app.status(&uuid_of(&suspended)).await["status"], "suspended", "still suspended");

    let vc = app.issue().await;
    let uuid = uuid_of(&vc);
    let (status, body) = app
        .send(
            app.http
                .post(format!("{}/credentials/{uuid}/status", app.base))
                .json(&json!({"action": "revoke", "reason": "examination found forged"})),
        )
        .await;
    assert_eq!(status, 200, "{body:#}");
    let (status, err) = app.reissue(&uuid, None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("already_revoked")), "{err:#}");
    assert!(err["message"]["zh"].as_str().unwrap().contains("吊销"));
    let (_, chain) = app.versions(&licence_id(&vc).to_string()).await;
    assert_eq!(chain["versions"].as_array().unwrap().len(), 1, "nothing issued");

    let (status, err) = app.reissue("00000000-0000-4000-8000-000000000000", None).await;
    assert_eq!((status, err["error"].as_str()), (404, Some("not_found")), "{err:#}");

    // A VC-API credential of a generic type has no 证照标识.
    let generic = json!({"credential": {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": vc["issuer"],
        "credentialSubject": {"id": "did:example:holder"}
    }});
    let (status, body) = app.send(app.http.post(format!("{}/credentials/issue", app.base)).json(&generic)).await;
    assert_eq!(status, 201, "{body:#}");
    let (status, err) = app.reissue(&uuid_of(&body["verifiableCredential"]), None).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("not_reissuable")), "{err:#}");
}

#[tokio::test]
async fn revoked_unknown_and_unidentified_credentials_are_refused_on_sqlite() {
    revoked_unknown_and_unidentified_credentials_are_refused(&spawn(None).await).await;
}

#[tokio::test]
async fn revoked_unknown_and_unidentified_credentials_are_refused_on_postgresql() {
    let Some(database) = postgres::FreshDatabase::create("reissue_refused").await else { return };
    let app = spawn(Some(database.url.clone())).await;
    revoked_unknown_and_unidentified_credentials_are_refused(&app).await;
    drop(app);
    database.drop_now().await;
}

/// Version 999 is the last: a stored version 998 is reissued as 999, which is
/// refused. (The stored credential is an issued one under another serial,
/// written to the store directly: the issuer never verifies what it stored.)
#[tokio::test]
async fn version_999_is_the_last() {
    let app = spawn(None).await;
    let issued = app.issue().await;
    let issued_id = licence_id(&issued);
    let store = issuer::store::Store::connect(&app.store_url).await.unwrap();
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let at_998 = LicenceId::new(issued_id.type_code().clone(), issued_id.issuer().clone(), "900000", 998).unwrap();
    let mut vc = issued.clone();
    vc["id"] = json!(id);
    vc = at_998.put_into(vc);
    let config = issuer::store::StatusListConfig::with_max_allocations(131_072).unwrap();
    store.allocate_status(&id, &[StatusPurpose::Revocation, StatusPurpose::Suspension], &config).await.unwrap();
    let credential = issuer::store::NewCredential {
        id: id.clone(),
        kind: "HealthCertificate".into(),
        issuer: issued["issuer"].as_str().unwrap_or_default().into(),
        issued_at: Utc::now(),
        valid_from: None,
        valid_until: None,
        credential_json: vc.to_string(),
        search_digest: None,
        licence_id: Some(at_998.to_string()),
    };
    store.save_issued(&credential, None).await.unwrap();

    let (status, body) = app.reissue(id.strip_prefix("urn:uuid:").unwrap(), None).await;
    assert_eq!(status, 201, "{body:#}");
    let at_999 = body["credential"].clone();
    assert_eq!((licence_id(&at_999).serial(), licence_id(&at_999).version()), ("900000", 999));
    let (status, err) = app.reissue(&uuid_of(&at_999), None).await;
    assert_eq!((status, err["error"].as_str()), (409, Some("licence_version_exhausted")), "{err:#}");
    assert!(err["message"]["zh"].as_str().unwrap().contains("999"));
    assert_eq!(app.status(&uuid_of(&at_999)).await["status"], "active", "the last version stays live");
}

/// VC-API `/credentials/issue` gives a credential of a type with a licence
/// type code its 证照标识 from the same serial counter; one that brings its
/// own is refused.
#[tokio::test]
async fn vc_api_issuance_assigns_the_licence_id() {
    let app = spawn(None).await;
    let domain = app.issue().await;
    let mut unsigned = domain.clone();
    for member in ["proof", "credentialStatus", "licenceId", "id"] {
        unsigned.as_object_mut().unwrap().remove(member);
    }
    // The ID number goes to the VC-API plain: only the issuer holds its digest key.
    let subject = unsigned["credentialSubject"].as_object_mut().unwrap();
    subject.remove("idNumberDigest");
    subject.remove("idNumberSalt");
    subject.insert("idNumber".to_owned(), health_request()["idNumber"].clone());
    let (status, body) =
        app.send(app.http.post(format!("{}/credentials/issue", app.base)).json(&json!({"credential": unsigned}))).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = body["verifiableCredential"].clone();
    let assigned = licence_id(&vc);
    let domain_id = licence_id(&domain);
    assert_eq!(
        (assigned.type_code(), assigned.issuer(), assigned.version()),
        (domain_id.type_code(), domain_id.issuer(), 1)
    );
    assert_eq!(assigned.serial(), "2", "the domain API's counter: serial 1 went to the first");
    let report =
        wallet_core::verification::verify_credential(&vc, &wallet_core::verification::VerifyOptions::default())
            .await
            .unwrap();
    assert!(report.checks.signature.is_valid() && report.checks.licence_id.is_valid(), "{report:#?}");
    let (status, found) = app.send(app.http.get(format!("{}/api/v1/licence-ids/{assigned}", app.base))).await;
    assert_eq!((status, &found), (200, &vc));

    let mut brings_one = unsigned.clone();
    brings_one["licenceId"] = json!(domain_id.to_string());
    let (status, err) = app
        .send(app.http.post(format!("{}/credentials/issue", app.base)).json(&json!({"credential": brings_one})))
        .await;
    assert_eq!((status, err["error"].as_str()), (400, Some("licence_id_assigned_by_issuer")), "{err:#}");
}

const PASSWORD: &str = "correct horse battery staple";

/// A signed-in staff session with `role`: the cookie header and the CSRF token.
async fn staff_session(app: &App, username: &str, role: issuer::domain::accounts::Role) -> (String, String) {
    use std::collections::HashMap;
    let store = issuer::store::Store::connect(&app.store_url).await.unwrap();
    let hash = issuer::domain::accounts::hash_password(PASSWORD).unwrap();
    store.create_staff(username, "测试", &hash, role).await.unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut jar: HashMap<String, String> = HashMap::new();
    let take = |resp: &reqwest::Response, jar: &mut HashMap<String, String>| {
        for value in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap().to_owned();
            let (k, v) = pair.split_once('=').unwrap();
            jar.insert(k.to_owned(), v.to_owned());
        }
    };
    let header =
        |jar: &HashMap<String, String>| jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let resp = client.get(format!("{}/login", app.base)).send().await.unwrap();
    take(&resp, &mut jar);
    let csrf = csrf_of(&resp.text().await.unwrap());
    let resp = client
        .post(format!("{}/login", app.base))
        .header(reqwest::header::COOKIE, header(&jar))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([("csrf", csrf.as_str()), ("username", username), ("password", PASSWORD)])
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    take(&resp, &mut jar);
    (header(&jar), csrf)
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..start + 43].to_owned()
}

/// The staff credential page: a supervisor sees the reissue form, must tick
/// the confirmation, and lands on the new version's page, which lists the
/// chain; a clerk sees no form and is refused by the route; a token that may
/// only issue is refused by the API route.
#[tokio::test]
async fn the_staff_page_reissues_after_confirmation_and_shows_the_chain() {
    use issuer::domain::accounts::Role;
    let app = spawn(None).await;
    let vc = app.issue().await;
    let uuid = uuid_of(&vc);
    let page_client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = |cookies: &str, uuid: &str| {
        page_client
            .get(format!("{}/certificates/{uuid}", app.base))
            .header(reqwest::header::COOKIE, cookies.to_owned())
            .send()
    };
    let post = |cookies: &str, uuid: &str, form: Vec<(&'static str, String)>| {
        page_client
            .post(format!("{}/certificates/{uuid}/reissue", app.base))
            .header(reqwest::header::COOKIE, cookies.to_owned())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
    };

    let (clerk, clerk_csrf) = staff_session(&app, "clerk", Role::Clerk).await;
    let html = page(&clerk, &uuid).await.unwrap().text().await.unwrap();
    assert!(html.contains("licence-id") && !html.contains("reissue-form"), "no form for a clerk");
    let resp = post(&clerk, &uuid, vec![("csrf", clerk_csrf), ("confirm", "yes".into())]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    let (supervisor, csrf) = staff_session(&app, "supervisor", Role::Supervisor).await;
    let html = page(&supervisor, &uuid).await.unwrap().text().await.unwrap();
    assert!(html.contains("reissue-form") && html.contains("reissue-confirm"), "{html}");
    // Without the confirmation: nothing happens, the page says why.
    let resp = post(&supervisor, &uuid, vec![("csrf", csrf.clone())]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert_eq!(app.status(&uuid).await["status"], "active");
    // A wrong CSRF token: refused.
    let resp = post(&supervisor, &uuid, vec![("csrf", "x".repeat(43)), ("confirm", "yes".into())]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    let resp = post(&supervisor, &uuid, vec![("csrf", csrf.clone()), ("confirm", "yes".into())]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let new_uuid = location.strip_prefix("/certificates/").unwrap().strip_suffix("?reissued=1").unwrap().to_owned();
    assert_ne!(new_uuid, uuid);
    assert_eq!(app.status(&uuid).await["status"], "revoked");
    let html = page(&supervisor, &new_uuid).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("licence-versions") && html.contains(&format!("/certificates/{uuid}")),
        "the chain links the old version"
    );
    // The old page: revoked, no reissue form, the chain links the new version.
    let html = page(&supervisor, &uuid).await.unwrap().text().await.unwrap();
    assert!(!html.contains("reissue-form") && html.contains(&format!("/certificates/{new_uuid}")));
    // The staff search by the old version's 证照标识 lists the chain, newest first.
    let search = format!(
        "{}/certificates?{}",
        app.base,
        serde_urlencoded::to_string([("q", vc["licenceId"].as_str().unwrap())]).unwrap()
    );
    let html = page_client
        .get(search)
        .header(reqwest::header::COOKIE, supervisor.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (new_at, old_at) =
        (html.find(&new_uuid).expect("the new version listed"), html.find(&uuid).expect("the old version listed"));
    assert!(new_at < old_at, "newest first");
    // Reissuing the old version again from its page: refused, shown in the page's language.
    let resp = post(&supervisor, &uuid, vec![("csrf", csrf), ("confirm", "yes".into())]).await.unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert!(resp.text().await.unwrap().contains("换发"));

    // An API token that may only issue cannot reissue (it would revoke).
    let store = issuer::store::Store::connect(&app.store_url).await.unwrap();
    let (_, token) = issuer::domain::accounts::create_scoped_api_token(
        &store,
        "clinic",
        issuer::domain::accounts::TokenScope::Issue,
    )
    .await
    .unwrap();
    let resp = page_client
        .post(format!("{}/api/v1/credentials/{new_uuid}/reissue", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(app.status(&new_uuid).await["status"], "active");
}

/// A credential issued for selective disclosure is reissued as one (its base
/// proof `ecdsa-sd-2023`), and the holder's derived credential of the new
/// version carries the new 证照标识 and fits V15 at M.
#[tokio::test]
async fn a_selectively_disclosable_credential_stays_one_when_reissued() {
    let app = spawn(None).await;
    let (status, body) = app
        .send(
            app.http
                .post(format!("{}/api/v1/health-certificates?cryptosuite=ecdsa-sd-2023", app.base))
                .json(&health_request()),
        )
        .await;
    assert_eq!(status, 201, "{body:#}");
    let first = body["credential"].clone();
    let (status, body) = app.reissue(&uuid_of(&first), None).await;
    assert_eq!(status, 201, "{body:#}");
    let second = body["credential"].clone();
    assert_eq!(second["proof"]["cryptosuite"], "ecdsa-sd-2023");
    assert_eq!(licence_id(&second).version(), 2);
    let types = wallet_core::credential_type::TypeRegistry::shipped().unwrap();
    let shown = wallet_core::selective_disclosure::shown_with(&types, &second, &[]).await.unwrap();
    assert_eq!(shown["licenceId"], second["licenceId"], "the identifier is always shown");
    let text = wallet_core::compact::encode_credential(&shown).unwrap();
    assert_eq!(wallet_core::compact::decode_credential(&text).unwrap(), shown);
    // In the issuer's member order again, so the identifier is a tag 20 record.
    let cbor = wallet_core::compact::encode_cbor_with(&types, &shown).unwrap();
    assert_eq!(cbor.first(), Some(&0xd4));
    assert!(wallet_core::qr::qr_version(&text).unwrap() <= 15, "{} chars", text.len());
}
