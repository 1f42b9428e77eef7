//! Department trust: X.509 issuer certificates and trust lists (in progress).
