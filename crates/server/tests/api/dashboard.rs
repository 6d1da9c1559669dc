//! The dashboard's pages over HTTP (the browser test drives them in chromium): who may open
//! them, what a bad address gets, and that they show only the account's own objects.

use reqwest::StatusCode;

use crate::common::TestApp;

/// Invites `email` as `role` with `key`, joins, and returns the session cookie.
async fn signed_in(app: &TestApp, key: &str, email: &str, role: &str) -> String {
    let joined = app
        .join(key, email, role, "Pat", "a long enough password")
        .await;
    joined.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn page(app: &TestApp, cookie: Option<&str>, path: &str) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let mut request = client.get(format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn pages_ask_to_sign_in_and_go_back_only_inside_the_dashboard() {
    let app = TestApp::start().await;
    let r = page(&app, None, "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/dashboard");
    let r = page(&app, None, "/dashboard/inbox?status=all").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/dashboard/sign-in?next=%2Fdashboard%2Finbox%3Fstatus%3Dall"
    );
    let r = page(&app, None, "/dashboard/sign-in?next=%2Fdashboard%2Finbox").await;
    assert_eq!(r.status(), StatusCode::OK);
    // Nothing inline runs and no other site frames a page.
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("data-then=\"/dashboard/inbox\""));
    for elsewhere in [
        "https://evil.example/",
        "//evil.example/dashboard",
        "/v1/keys",
    ] {
        let next: String = url::form_urlencoded::byte_serialize(elsewhere.as_bytes()).collect();
        let r = page(&app, None, &format!("/dashboard/sign-in?next={next}")).await;
        let body = r.text().await.unwrap();
        assert!(
            body.contains("data-then=\"/dashboard\""),
            "{elsewhere}: {body}"
        );
    }
    let css = page(&app, None, "/dashboard/assets/dashboard.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let js = page(&app, None, "/dashboard/assets/dashboard.js").await;
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // A made-up cookie is no session.
    let r = page(&app, Some("sitechat_session=made-up"), "/dashboard/bots").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_bad_address_gets_a_page_that_says_what_is_wrong() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let other = app.create_account("pro").await;
    let theirs = app.create_bot(&other, "Not yours").await;
    let cookie = signed_in(&app, &key, "owner@example.org", "owner").await;
    for (path, status, says) in [
        (
            "/dashboard/bots/bot_missing",
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            "/dashboard/bots/not-an-id",
            StatusCode::NOT_FOUND,
            "bot `not-an-id` not found",
        ),
        (
            &format!("/dashboard/bots/{theirs}/knowledge") as &str,
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            "/dashboard/inbox?status=lost",
            StatusCode::BAD_REQUEST,
            "is not one of",
        ),
        (
            "/dashboard/inbox?c=conv_missing",
            StatusCode::NOT_FOUND,
            "not found",
        ),
        (
            "/dashboard/analytics?from=2026-13-01",
            StatusCode::BAD_REQUEST,
            "from",
        ),
        (
            "/dashboard/leads?from=2026-02-30",
            StatusCode::BAD_REQUEST,
            "from: `2026-02-30` is not a day",
        ),
        (
            "/dashboard/leads?cursor=zzz",
            StatusCode::BAD_REQUEST,
            "cursor",
        ),
        (
            "/dashboard/leads?bot=nope",
            StatusCode::NOT_FOUND,
            "bot `nope` not found",
        ),
        ("/dashboard/inbox?page=0", StatusCode::BAD_REQUEST, "page"),
        (
            "/dashboard/inbox?page=many",
            StatusCode::BAD_REQUEST,
            "page",
        ),
    ] {
        let r = page(&app, Some(&cookie), path).await;
        assert_eq!(r.status(), status, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let body = r.text().await.unwrap();
        assert!(body.contains(says), "{path}: {body}");
        assert!(
            body.contains("<nav aria-label=\"Main\">"),
            "{path}: the error is inside the page"
        );
    }
    // The inbox list's live fragment says the same.
    let r = page(
        &app,
        Some(&cookie),
        "/dashboard/inbox/list?status=all&page=0",
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("page: a number from 1"));
    // The bots page lists this account's bots, not another's.
    app.create_bot(&key, "Mine").await;
    let body = page(&app, Some(&cookie), "/dashboard/bots")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Mine") && !body.contains("Not yours"),
        "{body}"
    );
}

#[tokio::test]
async fn an_agent_is_not_offered_what_their_role_refuses() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let cookie = signed_in(&app, &key, "agent@example.org", "agent").await;
    let r = page(&app, Some(&cookie), "/dashboard").await;
    assert_eq!(r.headers()["location"], "/dashboard/inbox");
    for path in [
        "/dashboard/bots".to_owned(),
        format!("/dashboard/bots/{bot}"),
        format!("/dashboard/bots/{bot}/knowledge"),
        "/dashboard/settings".to_owned(),
        "/dashboard/webhooks".to_owned(),
    ] {
        let r = page(&app, Some(&cookie), &path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body = r.text().await.unwrap();
        for offered in [
            "data-api=\"/v1/bots\"",
            "data-method=\"DELETE\"",
            "data-api=\"/v1/keys\"",
            "/v1/users/invitations",
        ] {
            assert!(!body.contains(offered), "{path} offers an agent {offered}");
        }
    }
}

/// The `href`s of the links inside the first `<nav class="pager">` of a page.
fn pager_links(body: &str) -> Vec<String> {
    let Some(start) = body.find("<nav class=\"pager\"") else {
        return Vec::new();
    };
    let nav = &body[start..start + body[start..].find("</nav>").unwrap()];
    nav.split("href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
        .collect()
}

#[tokio::test]
async fn long_lists_page_through_every_row() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let cookie = signed_in(&app, &key, "owner@example.org", "owner").await;
    // 55 conversations: the inbox shows 50, then the other 5.
    for i in 0..55 {
        let r = app
            .chat(
                &key,
                &bot,
                serde_json::json!({"message": format!("question {i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let ids = |body: &str| -> Vec<String> {
        body.split("data-conversation=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .collect()
    };
    let first = page(&app, Some(&cookie), "/dashboard/inbox?status=all").await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = first.text().await.unwrap();
    let links = pager_links(&first);
    assert_eq!(links, ["/dashboard/inbox?status=all&page=2"], "{first}");
    let second = page(&app, Some(&cookie), &links[0])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        pager_links(&second),
        ["/dashboard/inbox?status=all"],
        "the second page leads back"
    );
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!((a.len(), b.len()), (50, 5));
    let mut all: Vec<_> = a.iter().chain(&b).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 55, "no conversation is shown twice or missed");
    // The live reload of the second page keeps its page.
    assert!(second.contains("data-inbox-list=\"/dashboard/inbox/list?status=all&amp;page=2\""));
    let fragment = page(
        &app,
        Some(&cookie),
        "/dashboard/inbox/list?status=all&page=2",
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(ids(&fragment), b);

    // 101 sources: the knowledge page shows 100, then the other one.
    for i in 0..101 {
        let r = app
            .post(
                &format!("/v1/bots/{bot}/sources/qa"),
                &key,
                serde_json::json!({"question": format!("Question number {i}?"), "answer": format!("Answer {i}.")}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    let here = format!("/dashboard/bots/{bot}/knowledge");
    let first = page(&app, Some(&cookie), &here).await.text().await.unwrap();
    assert!(first.contains("100 sources on this page"), "{first}");
    let links = pager_links(&first);
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(links[0].starts_with(&format!("{here}?cursor=")));
    let second = page(&app, Some(&cookie), &links[0])
        .await
        .text()
        .await
        .unwrap();
    assert!(second.contains("1 source on this page"), "{second}");
    assert_eq!(
        pager_links(&second),
        [here.as_str()],
        "the last page leads back to the first"
    );
    let r = page(&app, Some(&cookie), &format!("{here}?cursor=zzz")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("cursor"));
}

#[tokio::test]
async fn each_person_has_their_own_unread_counts() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let bot = app.create_bot(&key, "Shop").await;
    let owner = signed_in(&app, &key, "owner@example.org", "owner").await;
    let agent = signed_in(&app, &key, "agent@example.org", "agent").await;
    let say = |conversation: Option<String>| {
        let (app, key, bot) = (&app, &key, &bot);
        async move {
            let mut body = serde_json::json!({"message": "are you there?"});
            if let Some(c) = conversation {
                body["conversation_id"] = c.into();
            }
            let r = app.chat(key, bot, body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["conversation_id"].as_str().unwrap().to_owned()
        }
    };
    let conversation = say(None).await;
    say(Some(conversation.clone())).await;
    // The unread badge of the conversation in a person's list ("" when there is none).
    let unread = |cookie: &str, path: &str| {
        let (app, cookie, path, conversation) =
            (&app, cookie.to_owned(), path.to_owned(), &conversation);
        async move {
            let body = page(app, Some(&cookie), &path).await.text().await.unwrap();
            let start = body
                .find(&format!("data-conversation=\"{conversation}\""))
                .expect("the conversation is listed");
            let item = &body[start..start + body[start..].find("</a>").unwrap()];
            item.find("class=\"unread\"").map_or(String::new(), |at| {
                let badge = &item[at..];
                badge[badge.find('>').unwrap() + 1..badge.find("</span>").unwrap()].to_owned()
            })
        }
    };
    let list = "/dashboard/inbox?status=all";
    assert_eq!(unread(&owner, list).await, "2");
    assert_eq!(unread(&agent, list).await, "2");
    // The owner opens it: read for the owner only.
    let opened = format!("{list}&c={conversation}");
    assert_eq!(unread(&owner, &opened).await, "");
    assert_eq!(unread(&owner, list).await, "");
    assert_eq!(unread(&agent, list).await, "2");
    // A new message: one unread for the owner, three for the agent, until the open
    // conversation's live list reloads for the owner.
    say(Some(conversation.clone())).await;
    assert_eq!(unread(&owner, list).await, "1");
    assert_eq!(unread(&agent, list).await, "3");
    let live = format!("/dashboard/inbox/list?status=all&c={conversation}");
    assert_eq!(unread(&owner, &live).await, "");
    assert_eq!(unread(&agent, list).await, "3");
    // Another account's conversation cannot be marked read.
    let other = app.create_account("pro").await;
    let stranger = signed_in(&app, &other, "stranger@example.org", "owner").await;
    let r = page(&app, Some(&stranger), &opened).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_webhooks_page_offers_and_shows_each_endpoints_payload_format() {
    let app = TestApp::start_with(|c| {
        c.allow_private_networks = true;
        c.allow_http_webhooks = true;
    })
    .await;
    let key = app.create_account("pro").await;
    let cookie = signed_in(&app, &key, "owner@example.org", "owner").await;
    let r = app
        .post(
            "/v1/webhooks",
            &key,
            serde_json::json!({"url": "http://127.0.0.1:9/hook", "format": "aisa", "events": ["lead.captured"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let body = page(&app, Some(&cookie), "/dashboard/webhooks")
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("format: aisa"), "{body}");
    for format in ["sitechat", "aisa", "asyntai", "aimylogic"] {
        assert!(
            body.contains(&format!("<option value=\"{format}\">")),
            "{format}"
        );
    }
}

#[tokio::test]
async fn the_settings_offer_the_embedding_model_and_show_the_re_embedding() {
    let app = TestApp::start().await;
    let key = app.create_account("pro").await;
    let cookie = signed_in(&app, &key, "owner@example.org", "owner").await;
    let bot = app.create_bot(&key, "Shop").await;
    app.add_text(&key, &bot, "FAQ", "Returns are accepted within 30 days.")
        .await;
    let settings = || async {
        page(&app, Some(&cookie), &format!("/dashboard/bots/{bot}"))
            .await
            .text()
            .await
            .unwrap()
    };
    let body = settings().await;
    assert!(body.contains("name=\"settings.embedding_model\""), "{body}");
    // Automatic is chosen, and says what the language chose; the form sends JSON values.
    assert!(
        body.contains("<option value=\"null\" selected>Automatic (all-MiniLM-L6-v2)"),
        "{body}"
    );
    assert!(
        body.contains("<option value=\"&quot;multilingual-e5-small&quot;\">multilingual-e5-small"),
        "{body}"
    );
    let r = app
        .patch(
            &format!("/v1/bots/{bot}"),
            &key,
            serde_json::json!({"settings": {"embedding_model": "multilingual-e5-small"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let body = settings().await;
    assert!(
        body.contains(
            "<option value=\"&quot;multilingual-e5-small&quot;\" selected>multilingual-e5-small"
        ),
        "{body}"
    );
}
