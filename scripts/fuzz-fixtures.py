"""Creates the objects `scripts/fuzz.sh` points the fuzzer's path parameters at.

Usage: fuzz-fixtures.py BASE_URL OPERATOR_KEY. Talks to the server through its API only, fails on
any unexpected status, and prints `NAME=value` lines (shell-quoted) for the script to read.

Operations that delete or end something get objects of their own, so that the objects the other
operations use stay there for the whole run.
"""

import shlex
import sys
import time

import requests

# Every generated http(s) URL is pointed at this host too (see fuzz-hooks.py): it never resolves.
OFFLINE = "https://sitechat-fuzz.invalid"

FAQ = (
    "# Opening hours\n\nOur shop in Lyon is open Monday to Friday from 9am to 6pm. On Saturdays we "
    "open from 10am to 4pm.\n\n# Returns\n\nYou can return any unused item within 30 days of "
    "delivery for a full refund. Refunds are paid within 5 business days.\n\n# Shipping\n\nWe ship "
    "to every country in the European Union. Delivery takes 3 to 5 working days."
)


class Api:
    def __init__(self, base, key):
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method, path, expect, json=None):
        r = self.session.request(method, self.base + path, json=json, timeout=60)
        if r.status_code != expect:
            sys.exit(f"fixtures: {method} {path} answered {r.status_code}, not {expect}: {r.text}")
        return r.json() if r.content else None


def main():
    base, operator_key = sys.argv[1], sys.argv[2]
    operator = Api(base, operator_key)
    account = operator.call(
        "POST", "/v1/accounts", 201, {"name": "fuzz tenant", "plan": "unlimited"}
    )
    api = Api(base, account["api_key"])

    bot = api.call(
        "POST", "/v1/bots", 201, {"name": "Fuzz shop", "website_url": OFFLINE + "/", "language": "en"}
    )["id"]
    doomed_bot = api.call("POST", "/v1/bots", 201, {"name": "Fuzz bot to delete"})["id"]
    source = api.call(
        "POST", f"/v1/bots/{bot}/sources/text", 201, {"title": "Shop FAQ", "content": FAQ}
    )["id"]
    doomed_source = api.call(
        "POST",
        f"/v1/bots/{bot}/sources/text",
        201,
        {"title": "Gift cards", "content": "Gift cards are valid for one year."},
    )["id"]

    conversation = api.call(
        "POST",
        "/v1/conversations",
        201,
        {
            "bot_id": bot,
            "contact": {"external_id": "fuzz-visitor", "name": "Ada", "email": "ada@example.com"},
            "message": "When are you open on Saturdays?",
        },
    )
    messages = api.call("GET", f"/v1/conversations/{conversation['id']}/messages", 200)["data"]
    to_end = api.call("POST", "/v1/conversations", 201, {"bot_id": bot, "message": "Hello"})["id"]
    contact = api.call("GET", f"/v1/contacts?bot_id={bot}", 200)["data"][0]["id"]

    webhook = api.call(
        "POST", "/v1/webhooks", 201, {"url": OFFLINE + "/hook", "events": ["*"]}
    )["id"]
    doomed_webhook = api.call("POST", "/v1/webhooks", 201, {"url": OFFLINE + "/gone", "events": ["lead.captured"]})["id"]
    delivery = api.call("POST", f"/v1/webhooks/{webhook}/test", 202)["id"]

    key = api.call("POST", "/v1/keys", 201, {"name": "fuzz key to revoke", "scopes": ["read"]})["id"]

    # Training crawls the bot's website, which cannot resolve: the job fails quickly, and stays.
    job = api.call("POST", f"/v1/bots/{bot}/train", 202)["id"]
    for _ in range(60):
        if api.call("GET", f"/v1/jobs/{job}", 200)["state"] not in ("queued", "running"):
            break
        time.sleep(0.5)

    values = {
        "FUZZ_KEY": account["api_key"],
        "FUZZ_ACCOUNT_ID": account["id"],
        "FUZZ_BOT_ID": bot,
        "FUZZ_DOOMED_BOT_ID": doomed_bot,
        "FUZZ_SOURCE_ID": source,
        "FUZZ_DOOMED_SOURCE_ID": doomed_source,
        "FUZZ_CONVERSATION_ID": conversation["id"],
        "FUZZ_END_CONVERSATION_ID": to_end,
        "FUZZ_MESSAGE_ID": messages[-1]["id"],
        "FUZZ_CONTACT_ID": contact,
        "FUZZ_WEBHOOK_ID": webhook,
        "FUZZ_DOOMED_WEBHOOK_ID": doomed_webhook,
        "FUZZ_DELIVERY_ID": delivery,
        "FUZZ_KEY_ID": key,
        "FUZZ_JOB_ID": job,
    }
    for name, value in values.items():
        print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
