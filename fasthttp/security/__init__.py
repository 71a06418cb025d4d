"""Security: secret masking now; SSRF policy, circuit breaker, signing and limits grow here."""
