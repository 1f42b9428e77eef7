//! Transparency log: RFC 6962 Merkle trees, checkpoints, cosignatures (in progress).
