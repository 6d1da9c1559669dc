#!/usr/bin/env node
// Verifies a sitechat webhook delivery (Standard Webhooks signature).
// Usage: node verify.js SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE < body
// Exits 0 when one of the signatures is valid and the timestamp is within 5 minutes.
const crypto = require("crypto");

const TOLERANCE_SECONDS = 5 * 60;

function verify(secret, id, timestamp, signatures, body) {
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  // The key is the secret's bytes, as given (whsec_ prefix included); body is the raw bytes.
  const expected = Buffer.from(
    "v1," +
      crypto
        .createHmac("sha256", secret)
        .update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]))
        .digest("base64")
  );
  return signatures.split(" ").some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

const [secret, id, timestamp, signatures] = process.argv.slice(2);
if (!signatures) {
  console.error("usage: node verify.js SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE < body");
  process.exit(2);
}
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const ok = verify(secret, id, timestamp, signatures, Buffer.concat(chunks));
  console.log(ok ? "valid" : "invalid");
  process.exit(ok ? 0 : 1);
});
