//! The hashes part's integration tests, one test binary: the PPH1 known-answer vectors and the
//! verifier's properties.

mod pph1_vectors;
mod verifier_props;
