//! People and dashboard sessions: invitations, signing in and out, CSRF, roles, password resets,
//! and tenants kept apart.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{Response, TestApp};

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
    user: Value,
}

fn cookie_of(r: &Response) -> String {
    let set = r
        .headers
        .get("set-cookie")
        .expect("a session cookie is set")
        .to_str()
        .unwrap();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

fn browser_of(r: &Response) -> Browser {
    Browser {
        cookie: cookie_of(r),
        csrf: r.body["csrf_token"].as_str().unwrap().to_owned(),
        user: r.body["user"].clone(),
    }
}

/// A request made with the session cookie, with or without its CSRF token.
async fn as_browser(
    app: &TestApp,
    who: &Browser,
    method: Method,
    path: &str,
    body: Option<Value>,
    csrf: bool,
) -> Response {
    let mut request = app
        .client
        .request(method, format!("{}{}", app.base, path))
        .header("cookie", &who.cookie);
    if csrf {
        request = request.header("x-csrf-token", &who.csrf);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::read(request.send().await.unwrap()).await
}

async fn open(app: &TestApp, method: Method, path: &str, body: Value) -> Response {
    app.request(method, path, None, Some(body)).await
}

/// Invites `email` with `role` using `key` and accepts: the new person's browser.
async fn join(app: &TestApp, key: &str, email: &str, role: &str, name: &str) -> Browser {
    browser_of(
        &app.join(key, email, role, name, "a long enough password")
            .await,
    )
}

#[tokio::test]
async fn an_invited_owner_signs_in_and_changes_only_with_the_csrf_token() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let owner = join(&app, &key, "olga@example.org", "owner", "Olga").await;
    assert_eq!(owner.user["role"], "owner");

    let me = as_browser(&app, &owner, Method::GET, "/v1/session", None, false).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["user"]["email"], "olga@example.org");

    // Reading needs only the cookie; a change without the token is refused and not made.
    let bots = as_browser(&app, &owner, Method::GET, "/v1/bots", None, false).await;
    assert_eq!(bots.status, StatusCode::OK, "{}", bots.text);
    let body = json!({"name": "Shop"});
    let forged = as_browser(
        &app,
        &owner,
        Method::POST,
        "/v1/bots",
        Some(body.clone()),
        false,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert!(forged.message().contains("X-CSRF-Token"), "{}", forged.text);
    let mut wrong = Browser {
        csrf: "not-the-token".to_owned(),
        cookie: owner.cookie.clone(),
        user: Value::Null,
    };
    let forged = as_browser(
        &app,
        &wrong,
        Method::POST,
        "/v1/bots",
        Some(body.clone()),
        true,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    let list = app.get("/v1/bots", &key).await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        0,
        "{}",
        list.text
    );
    let made = as_browser(&app, &owner, Method::POST, "/v1/bots", Some(body), true).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);

    // Signing in again with the password gives a new session; signing out ends it at once.
    let signed = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "OLGA@example.org", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text);
    let second = browser_of(&signed);
    let out = as_browser(&app, &second, Method::DELETE, "/v1/session", None, true).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    assert!(out.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let after = as_browser(&app, &second, Method::GET, "/v1/bots", None, false).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.text);
    // The first session is untouched.
    let still = as_browser(&app, &owner, Method::GET, "/v1/bots", None, false).await;
    assert_eq!(still.status, StatusCode::OK);
    wrong.cookie = "sitechat_session=made-up".to_owned();
    let made_up = as_browser(&app, &wrong, Method::GET, "/v1/bots", None, false).await;
    assert_eq!(made_up.status, StatusCode::UNAUTHORIZED, "{}", made_up.text);
}

#[tokio::test]
async fn an_agent_answers_conversations_but_changes_no_bot_key_or_person() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let agent = join(&app, &key, "arno@example.org", "agent", "Arno").await;

    for (method, path, body) in [
        (Method::POST, "/v1/bots".to_owned(), json!({"name": "Mine"})),
        (
            Method::PATCH,
            format!("/v1/bots/{bot}"),
            json!({"name": "Renamed"}),
        ),
        (
            Method::POST,
            "/v1/keys".to_owned(),
            json!({"name": "k", "scopes": ["admin"]}),
        ),
        (
            Method::POST,
            "/v1/users/invitations".to_owned(),
            json!({"email": "x@example.org", "role": "agent"}),
        ),
    ] {
        let r = as_browser(&app, &agent, method, &path, Some(body), true).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text);
        assert!(r.message().contains("role (agent)"), "{}", r.text);
    }
    assert_eq!(
        app.get(&format!("/v1/bots/{bot}"), &key).await.body["name"],
        "Shop"
    );

    // The agent takes over a conversation and replies under their own name.
    let conv = app
        .post("/v1/conversations", &key, json!({"bot_id": bot}))
        .await;
    assert_eq!(conv.status, StatusCode::CREATED, "{}", conv.text);
    let conv = conv.body["id"].as_str().unwrap().to_owned();
    let took = as_browser(
        &app,
        &agent,
        Method::POST,
        &format!("/v1/conversations/{conv}/takeover"),
        Some(json!({"agent": "Somebody Else"})),
        true,
    )
    .await;
    assert_eq!(took.status, StatusCode::OK, "{}", took.text);
    assert_eq!(took.body["assignee"], "Arno");
    let sent = as_browser(
        &app,
        &agent,
        Method::POST,
        &format!("/v1/conversations/{conv}/messages"),
        Some(json!({"role": "agent", "text": "Hello, Arno here.", "author": "Mallory"})),
        true,
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    assert_eq!(sent.body["author"], "Arno", "{}", sent.text);

    // An API key still has to name its agent.
    let conv2 = app
        .post("/v1/conversations", &key, json!({"bot_id": bot}))
        .await;
    let conv2 = conv2.body["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/conversations/{conv2}/takeover"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.message().contains("agent"), "{}", r.text);
}

#[tokio::test]
async fn a_session_stays_inside_its_account() {
    let app = TestApp::start().await;
    let key_a = app.create_account("pro").await;
    let key_b = app.create_account("pro").await;
    let bot_b = app.create_bot(&key_b, "B's bot").await;
    let owner_a = join(&app, &key_a, "a@example.org", "owner", "A").await;
    let people_b = app.get("/v1/users", &key_b).await;
    assert_eq!(people_b.status, StatusCode::OK);
    join(&app, &key_b, "b@example.org", "owner", "B").await;
    let b_id = app.get("/v1/users", &key_b).await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = as_browser(
        &app,
        &owner_a,
        Method::GET,
        &format!("/v1/bots/{bot_b}"),
        None,
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = as_browser(
        &app,
        &owner_a,
        Method::DELETE,
        &format!("/v1/users/{b_id}"),
        None,
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = as_browser(&app, &owner_a, Method::GET, "/v1/users", None, false).await;
    let emails: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["a@example.org"]);
}

#[tokio::test]
async fn sign_in_refuses_alike_and_limits_attempts_per_email() {
    let app = TestApp::start_with(|c| c.sign_in_attempts_per_hour = 3).await;
    let key = app.create_account("pro").await;
    join(&app, &key, "limit@example.org", "owner", "L").await;

    let wrong = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "limit@example.org", "password": "not the password"}),
    )
    .await;
    let unknown = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "nobody@example.org", "password": "not the password"}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.message(), unknown.message());
    assert!(wrong.headers.get("set-cookie").is_none());

    let empty = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "", "password": ""}),
    )
    .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.text);
    let extra = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "a@b.co", "password": "x", "remember": true}),
    )
    .await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST, "{}", extra.text);

    for _ in 0..2 {
        open(
            &app,
            Method::POST,
            "/v1/session",
            json!({"email": "limit@example.org", "password": "still wrong!"}),
        )
        .await;
    }
    // The allowance is spent: even the right password waits.
    let right = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "Limit@example.org", "password": "a long enough password"}),
    )
    .await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.text
    );
    assert!(right.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn invitations_and_resets_are_checked_and_used_once() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    for (body, field) in [
        (json!({"email": "not-an-email", "role": "agent"}), "email"),
        (json!({"email": "x@example.org", "role": "boss"}), "role"),
        (json!({"email": "x@example.org"}), "role"),
    ] {
        let r = app.post("/v1/users/invitations", &key, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
        assert!(r.text.contains(field), "{}", r.text);
    }

    let link = app
        .post(
            "/v1/users/invitations",
            &key,
            json!({"email": "new@example.org", "role": "admin"}),
        )
        .await;
    let token = link.body["token"].as_str().unwrap().to_owned();
    let shown = app
        .request(Method::GET, &format!("/v1/invitations/{token}"), None, None)
        .await;
    assert_eq!(shown.body["email"], "new@example.org", "{}", shown.text);
    assert_eq!(shown.body["role"], "admin");
    // A short password is refused and the invitation stays usable.
    let short = open(
        &app,
        Method::POST,
        &format!("/v1/invitations/{token}"),
        json!({"name": "N", "password": "short"}),
    )
    .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.text);
    assert!(short.message().contains("at least 10"), "{}", short.text);
    let admin = open(
        &app,
        Method::POST,
        &format!("/v1/invitations/{token}"),
        json!({"name": "Nina", "password": "first password here"}),
    )
    .await;
    assert_eq!(admin.status, StatusCode::CREATED, "{}", admin.text);
    let admin = browser_of(&admin);
    let again = open(
        &app,
        Method::POST,
        &format!("/v1/invitations/{token}"),
        json!({"name": "Eve", "password": "first password here"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.text);
    let dup = app
        .post(
            "/v1/users/invitations",
            &key,
            json!({"email": "NEW@example.org", "role": "agent"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text);

    // An admin may not make an owner.
    let r = as_browser(
        &app,
        &admin,
        Method::POST,
        "/v1/users/invitations",
        Some(json!({"email": "o@example.org", "role": "owner"})),
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // A reset link sets a new password, ends the old sessions and is used once.
    let id = admin.user["id"].as_str().unwrap();
    let reset = app
        .post(&format!("/v1/users/{id}/password-reset"), &key, json!({}))
        .await;
    assert_eq!(reset.status, StatusCode::CREATED, "{}", reset.text);
    let reset_token = reset.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        reset.body["path"],
        format!("/dashboard/reset/{reset_token}")
    );
    let done = open(
        &app,
        Method::POST,
        &format!("/v1/password-resets/{reset_token}"),
        json!({"password": "second password here"}),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let old = as_browser(&app, &admin, Method::GET, "/v1/bots", None, false).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let old_password = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "new@example.org", "password": "first password here"}),
    )
    .await;
    assert_eq!(old_password.status, StatusCode::UNAUTHORIZED);
    let new_password = open(
        &app,
        Method::POST,
        "/v1/session",
        json!({"email": "new@example.org", "password": "second password here"}),
    )
    .await;
    assert_eq!(new_password.status, StatusCode::OK, "{}", new_password.text);
    let twice = open(
        &app,
        Method::POST,
        &format!("/v1/password-resets/{reset_token}"),
        json!({"password": "third password here"}),
    )
    .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND, "{}", twice.text);
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed_or_demoted() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let owner = join(&app, &key, "only@example.org", "owner", "Only").await;
    let id = owner.user["id"].as_str().unwrap();
    let r = app.delete(&format!("/v1/users/{id}"), &key).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = app
        .patch(&format!("/v1/users/{id}"), &key, json!({"role": "agent"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = app
        .patch(&format!("/v1/users/{id}"), &key, json!({"role": "chief"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = app.delete("/v1/users/not-an-id", &key).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let agent = join(&app, &key, "ag@example.org", "agent", "Ag").await;
    let agent_id = agent.user["id"].as_str().unwrap();
    let r = as_browser(
        &app,
        &owner,
        Method::PATCH,
        &format!("/v1/users/{agent_id}"),
        Some(json!({"role": "admin"})),
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["role"], "admin");
    let r = as_browser(
        &app,
        &owner,
        Method::DELETE,
        &format!("/v1/users/{agent_id}"),
        None,
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let gone = as_browser(&app, &agent, Method::GET, "/v1/bots", None, false).await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);
}
