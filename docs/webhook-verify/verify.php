<?php
// Verifies a sitechat webhook delivery (Standard Webhooks signature).
// Usage: php verify.php SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE < body
// Exits 0 when one of the signatures is valid and the timestamp is within 5 minutes.

const TOLERANCE_SECONDS = 300;

function verify(string $secret, string $id, string $timestamp, string $signatures, string $body): bool
{
    if (abs(time() - (int) $timestamp) > TOLERANCE_SECONDS) {
        return false;
    }
    // The key is the secret's bytes, as given (whsec_ prefix included); $body is the raw body.
    $expected = 'v1,' . base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", $secret, true));
    foreach (explode(' ', $signatures) as $given) {
        if (hash_equals($expected, $given)) {
            return true;
        }
    }
    return false;
}

if ($argc !== 5) {
    fwrite(STDERR, "usage: php verify.php SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE < body\n");
    exit(2);
}
$ok = verify($argv[1], $argv[2], $argv[3], $argv[4], file_get_contents('php://stdin'));
echo $ok ? "valid\n" : "invalid\n";
exit($ok ? 0 : 1);
